/**
 * Preload for a built service, run by its launcher before its bundle (apps/cli/src/build/launch.ts).
 * The tracing SDK is bundled here; the service's bundle finds it through `@opentelemetry/api`'s
 * global. Nothing is patched as it loads: fastify and undici are traced through
 * `diagnostics_channel`, `pg` by the chassis' own pool (`db/traced-client.ts`).
 */
import { startTracing } from './tracing-sdk.ts';

startTracing(process.env.OTEL_SERVICE_NAME ?? process.env.MERCATO_SERVICE ?? 'mercato-service');
