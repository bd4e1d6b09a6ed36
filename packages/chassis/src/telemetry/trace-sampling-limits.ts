/**
 * The trace sampling variables' defaults and bounds, plain values: read by the tracing preload
 * (trace-budget-sampler.ts, bundled apart from the service) and by the configuration schema
 * (config/env-schema.ts), which must not pull the tracing SDK into every service's bundle.
 *
 * One new trace a second and a tenth of the rest, as AWS X-Ray's default rule records the first
 * request of each second and a share of the others.
 */
export const traceRootsPerSecond = { default: 1, max: 100_000 } as const;
export const traceSamplePercent = { default: 10, max: 100 } as const;
