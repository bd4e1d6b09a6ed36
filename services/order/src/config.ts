import {
  databaseConfigShape,
  env,
  grpcServerConfigShape,
  messagingConfigShape,
  rpcClientConfigShape,
  serviceConfigShape,
} from '@mercato/chassis';
import * as z from 'zod';

const stepTimeout = (fallback: number) => env.int({ min: 100, max: 600_000, default: fallback });

export const orderConfig = z
  .object({
    ...serviceConfigShape,
    ...databaseConfigShape,
    ...messagingConfigShape,
    ...grpcServerConfigShape(),
    // gateway → 3 s → order → 1 s → pricing (ARCHITECTURE §6).
    ...rpcClientConfigShape({ timeoutMs: 1_000 }),
    /**
     * How long a customer would wait for each saga step before the saga gives up on it (compensating
     * it before the pivot, or retrying it forward after): business deadlines, not how long a restart
     * takes. The command is resent `ORDER_SAGA_RESENDS` times within it, with the same idempotency key.
     */
    ORDER_RESERVE_TIMEOUT_MS: stepTimeout(30_000),
    ORDER_PAYMENT_TIMEOUT_MS: stepTimeout(60_000),
    ORDER_CONFIRM_TIMEOUT_MS: stepTimeout(30_000),
    /** How long a cancellation waits for fulfillment to hold the parcel. */
    ORDER_HOLD_TIMEOUT_MS: stepTimeout(30_000),
    ORDER_SAGA_RESENDS: env.int({ min: 0, max: 20, default: 2 }),
    /** The longest wait between two attempts of a step retried forward (after its pivot). */
    ORDER_SAGA_MAX_RETRY_INTERVAL_MS: env.int({ min: 100, max: 3_600_000, default: 15_000 }),
    /** A compensation is tried this often before the saga is left FAILED. */
    ORDER_SAGA_COMPENSATION_ATTEMPTS: env.int({ min: 1, max: 100, default: 5 }),
    /** How often due step timeouts are looked for. */
    ORDER_SAGA_TIMER_INTERVAL_MS: env.int({ min: 10, max: 60_000, default: 250 }),
    /** A snapshot of an order is stored every this many events. */
    ORDER_SNAPSHOT_EVERY: env.int({ min: 1, max: 10_000, default: 5 }),
    /**
     * Orders accepted and not yet confirmed, cancelled or failed are held under an adaptive
     * concurrency limit (`adaptive`); beyond it CreateOrder is refused at once (503 + Retry-After at
     * the edge) instead of queueing behind the sagas. `off` accepts every order.
     */
    ORDER_PLACEMENT_LIMIT: z
      .enum(['adaptive', 'off'], { error: 'expected adaptive or off' })
      .default('adaptive'),
    ORDER_PLACEMENT_LIMIT_INITIAL: env.int({ min: 1, max: 100_000, default: 20 }),
    // Gradient2's floor, as for the gateway's calls: on a loaded 2-core machine a saga takes seconds.
    ORDER_PLACEMENT_LIMIT_MIN: env.int({ min: 1, max: 100_000, default: 20 }),
    ORDER_PLACEMENT_LIMIT_MAX: env.int({ min: 1, max: 100_000, default: 1_000 }),
    /** An order still in progress after this long no longer counts against the limit. */
    ORDER_PLACEMENT_HOLD_MS: env.int({ min: 1_000, max: 3_600_000, default: 60_000 }),
    /** How often the order-summaries projection catches up with the log. */
    ORDER_PROJECTION_INTERVAL_MS: env.int({ min: 10, max: 60_000, default: 200 }),
  })
  .refine((config) => config.ORDER_PLACEMENT_LIMIT_MIN <= config.ORDER_PLACEMENT_LIMIT_MAX, {
    error: 'ORDER_PLACEMENT_LIMIT_MIN must not be above ORDER_PLACEMENT_LIMIT_MAX',
    path: ['ORDER_PLACEMENT_LIMIT_MIN'],
  });

export type OrderConfig = z.output<typeof orderConfig>;
