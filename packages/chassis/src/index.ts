export {
  type Authenticator,
  createAuthenticator,
  mayRead,
  type Principal,
} from './auth/token-verifier.ts';
export { mayActFor, usersChecked } from './authorization/call-authorizer.ts';
export type { CustomerAccess } from './authorization/customer-access.ts';
export { BoundedQueue, QueueOverflow } from './bounded-queue.ts';
export * from './calls/index.ts';
export {
  databaseConfigShape,
  env,
  grpcServerConfigShape,
  rpcClientConfigShape,
  serviceConfigShape,
} from './config/env-schema.ts';
export { ConfigError, loadConfig } from './config/load-config.ts';
export { describe as describeError, EXIT_CONFIG } from './config/startup-failure.ts';
export {
  type ChassisConfig,
  createService,
  type DatabaseConfig,
  type Duty,
  type Service,
  type ServiceContext,
  type ServiceDefinition,
  type ServiceParts,
  type ServiceRole,
  type ServiceUses,
} from './create-service.ts';
export {
  createPool,
  inTransaction,
  type Pool,
  type PoolClient,
  pingDatabase,
  type Transaction,
} from './db/database.ts';
export { migrate } from './db/migrate.ts';
export { listenToChannel, type PgChannelListener } from './db/pg-channel-listener.ts';
export type { StatementPart } from './db/statement-part.ts';
export {
  assertOutsideTransaction,
  CALL_IN_TRANSACTION,
  insideTransaction,
} from './db/transaction-scope.ts';
export {
  type Discovery,
  type HttpInstances,
  httpInstances,
  httpOutcome,
  type Protocol,
} from './discovery/discovery.ts';
export {
  AppError,
  type AppErrorOptions,
  conflict,
  type ErrorKind,
  errorKinds,
  type FieldIssue,
  isAppError,
  notFound,
  OverloadedError,
  validationFailed,
} from './errors/app-error.ts';
export { PROBLEM_CONTENT_TYPE, type Problem, toProblem } from './errors/problem.ts';
export * from './event-sourcing/index.ts';
export {
  AsyncExperiment,
  type AsyncExperimentSettings,
  type AsyncRunSettings,
} from './experiments/async-experiment.ts';
export { experimentRoutes } from './experiments/experiment.routes.ts';
export {
  bucketOf,
  Experiment,
  type ExperimentMode,
  type ExperimentReport,
  type Mismatch,
  type ReportingExperiment,
} from './experiments/experiment.ts';
export {
  createGrpcClient,
  type Endpoints,
  type GrpcClient,
  type GrpcClientOptions,
} from './grpc/grpc-client.ts';
export { fromConnectError, toConnectError } from './grpc/grpc-errors.ts';
export { createGrpcServer, type GrpcRoutes, type GrpcServer } from './grpc/grpc-server.ts';
export { parseRequest } from './grpc/parse-request.ts';
export { createAdminGuard, identityJwks } from './http/admin-guard.ts';
export { createHttpServer, type HttpApp, requestPath } from './http/create-http-server.ts';
export type { ReadinessCheck } from './http/health-routes.ts';
export { CORRELATION_HEADER, contextHeaders, REQUEST_ID_HEADER } from './http/request-ids.ts';
export { type CanonicalTarget, canonicalTarget } from './http/request-path.ts';
export {
  HttpCallFailed,
  type JsonAnswer,
  JsonHttpClient,
  type JsonHttpClientOptions,
  type JsonRequest,
} from './http-client/json-http-client.ts';
export { type IdGenerator, newId } from './ids.ts';
export { createLogger, type Logger, loggerOptions } from './logging/create-logger.ts';
export {
  currentRequestContext,
  type RequestContext,
  remainingDeadlineMs,
  runWithRequestContext,
} from './logging/request-context.ts';
export { LookupCache } from './lookup-cache.ts';
export * from './messaging/index.ts';
export { createServiceMetrics, type ServiceMetrics } from './metrics/service-metrics.ts';
export * from './projections/index.ts';
export { AdaptiveLimit, type AdaptiveLimitSettings } from './resilience/adaptive-limit.ts';
export {
  ConcurrencyLimiter,
  type ConcurrencyLimiterOptions,
  type LimiterMetrics,
  type LimitPermit,
  limiterMetrics,
} from './resilience/concurrency-limiter.ts';
export {
  type BreakerState,
  createDependencyPolicy,
  type DependencyPolicy,
  defaultPolicySettings,
  type PolicySettings,
} from './resilience/dependency-policy.ts';
export { reportEjections } from './resilience/ejection-report.ts';
export type { CallOutcome, InstanceLease } from './resilience/instance-balancer.ts';
export { fail, ok, type Result } from './result.ts';
export { runService } from './run-service.ts';
export * from './saga/index.ts';
export { WakeSignal } from './wake-signal.ts';
