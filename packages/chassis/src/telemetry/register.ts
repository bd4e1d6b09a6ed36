/**
 * Preload for a service run from its TypeScript: `node --import tsx --import @mercato/chassis/register <main.ts>`.
 * Tracing starts before the composition root runs, so the first request is traced. No module hook
 * is registered: fastify and undici are traced through `diagnostics_channel` and `pg` by the
 * chassis' own pool (`db/traced-client.ts`), so nothing needs patching as it loads.
 */
const { startTracing } = await import('./tracing-sdk.ts');
startTracing(process.env.OTEL_SERVICE_NAME ?? process.env.MERCATO_SERVICE ?? 'mercato-service');
