import {
  databaseConfigShape,
  env,
  grpcServerConfigShape,
  messagingConfigShape,
  rpcClientConfigShape,
  serviceConfigShape,
} from '@mercato/chassis';
import { z } from 'zod';

const stepTimeout = (fallback: number) => env.int({ min: 100, max: 600_000, default: fallback });

export const orderConfig = z.object({
  ...serviceConfigShape,
  ...databaseConfigShape,
  ...messagingConfigShape,
  ...grpcServerConfigShape(),
  // gateway → 3 s → order → 1 s → pricing (ARCHITECTURE §6).
  ...rpcClientConfigShape({ timeoutMs: 1_000 }),
  /** pricing's gRPC address: CreateOrder prices the basket there. */
  PRICING_GRPC_URL: env.url(['http', 'https']),
  /** How long each PlaceOrder step (or its compensation) may take before the saga stops waiting. */
  ORDER_RESERVE_TIMEOUT_MS: stepTimeout(10_000),
  ORDER_PAYMENT_TIMEOUT_MS: stepTimeout(15_000),
  ORDER_CONFIRM_TIMEOUT_MS: stepTimeout(10_000),
  /** A compensation is tried this often before the saga is left FAILED. */
  ORDER_SAGA_COMPENSATION_ATTEMPTS: env.int({ min: 1, max: 100, default: 5 }),
  /** How often due step timeouts are looked for. */
  ORDER_SAGA_TIMER_INTERVAL_MS: env.int({ min: 10, max: 60_000, default: 250 }),
  /** A snapshot of an order is stored every this many events. */
  ORDER_SNAPSHOT_EVERY: env.int({ min: 1, max: 10_000, default: 5 }),
  /** How often the order-summaries projection catches up with the log. */
  ORDER_PROJECTION_INTERVAL_MS: env.int({ min: 10, max: 60_000, default: 200 }),
});

export type OrderConfig = z.output<typeof orderConfig>;
