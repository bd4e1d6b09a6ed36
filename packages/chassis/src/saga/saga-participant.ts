import { createEnvelope, type SagaRequest, sagaReply } from '@mercato/contracts';
import type { Transaction } from '../db/database.ts';
import type { Outbox } from '../messaging/outbox.ts';

export type SagaOutcome =
  | { success: true; result?: Record<string, unknown> }
  | { success: false; reason: string; result?: Record<string, unknown> };

/**
 * A participant's answer to a saga command, written to its outbox in the transaction of the
 * command's effect, so the orchestrator hears exactly what committed.
 */
export async function replyToSaga(
  outbox: Outbox,
  transaction: Transaction,
  request: SagaRequest,
  outcome: SagaOutcome,
  origin: { source: string; correlationId: string; causationId: string },
): Promise<void> {
  await outbox.append(transaction, [
    {
      kind: 'queue',
      destination: request.reply_to,
      key: request.saga_id,
      envelope: createEnvelope({
        contract: sagaReply,
        source: origin.source,
        correlationId: origin.correlationId,
        causationId: origin.causationId,
        data: {
          saga_id: request.saga_id,
          request_id: request.request_id,
          success: outcome.success,
          ...(outcome.success ? {} : { reason: outcome.reason }),
          result: outcome.result ?? {},
        },
      }),
    },
  ]);
}
