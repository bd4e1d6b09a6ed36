import * as z from 'zod';
import { defineCommand } from '../message-contract.ts';

/** The queue participants answer order's sagas on (each request names it in `reply_to`). */
export const ORDER_SAGA_REPLIES = 'order.saga-replies';

/**
 * What every saga command carries so its participant can answer: the request the saga waits on,
 * the key the participant deduplicates on (saga id + step: the same for every retry of the step),
 * and the queue the reply goes to.
 */
export const sagaRequest = z.object({
  saga_id: z.string().min(1),
  request_id: z.string().min(1),
  idempotency_key: z.string().min(1),
  reply_to: z.string().min(1),
});

export type SagaRequest = z.output<typeof sagaRequest>;

/** participant → orchestrator: how a saga command went. A failure is an answer, not an error. */
export const sagaReply = defineCommand({
  type: 'saga.reply',
  version: '1.0',
  schema: z.object({
    saga_id: z.string().min(1),
    request_id: z.string().min(1),
    success: z.boolean(),
    /** Why it failed, in a word the orchestrator can act on (e.g. `insufficient_stock`). */
    reason: z.string().optional(),
    /** What the step produced (e.g. the payment id). */
    result: z.record(z.string(), z.unknown()).default({}),
  }),
});
