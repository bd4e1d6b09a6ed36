/** Configuration and start-up failures, without the service runtime (for tools such as the CLI). */
export { env, traceSamplingShape } from './env-schema.ts';
export { ConfigError, loadConfig } from './load-config.ts';
export { describe as describeError, EXIT_CONFIG } from './startup-failure.ts';
