export * from './infra.ts';
export { parsePrometheusText } from './prometheus-text.ts';
export { waitFor } from './wait-for.ts';
