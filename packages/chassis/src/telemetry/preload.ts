/**
 * Preload for a built service, run by its launcher before its bundle (apps/cli/src/build/launch.ts).
 * The tracing SDK is bundled here; the one package it patches as it loads, `pg`, stays outside the
 * service's bundle and is loaded by `require`, so require-in-the-middle sees it and no ESM loader
 * hook (a thread of its own, ~30 MB and 0.4 s per process) is needed, unlike the TypeScript path
 * (`register.ts`). Fastify and undici are traced through `diagnostics_channel`.
 */
import { startTracing } from './tracing-sdk.ts';

startTracing(process.env.OTEL_SERVICE_NAME ?? process.env.MERCATO_SERVICE ?? 'mercato-service');
