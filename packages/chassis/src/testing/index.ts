export * from './infra.ts';
export { parsePrometheusText } from './prometheus-text.ts';
