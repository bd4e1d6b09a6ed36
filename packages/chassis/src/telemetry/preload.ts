/**
 * Preload for a built service: `node --require ./dist/preload.cjs dist/main.cjs`. The build loads
 * every package that tracing instruments through `require`, so require-in-the-middle sees each one
 * and no ESM loader hook (a thread of its own, ~30 MB and 0.4 s per process) is needed, unlike the
 * TypeScript path (`register.ts`).
 */
import { startTracing } from './tracing-sdk.ts';

startTracing(process.env.OTEL_SERVICE_NAME ?? process.env.MERCATO_SERVICE ?? 'mercato-service');
