/**
 * Preload for every service: `node --import tsx --import @mercato/chassis/register <main.ts>`.
 * Instrumentation must hook module loading before the service imports pg, http or fastify, which is
 * why this runs ahead of the composition root instead of inside createService().
 */
import { register } from 'node:module';

register('@opentelemetry/instrumentation/hook.mjs', import.meta.url);

const { startTracing } = await import('./tracing-sdk.ts');
startTracing(process.env.OTEL_SERVICE_NAME ?? process.env.MERCATO_SERVICE ?? 'mercato-service');
