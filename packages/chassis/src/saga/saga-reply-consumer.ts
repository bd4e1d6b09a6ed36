import type { sagaReply } from '@mercato/contracts';
import type * as z from 'zod';
import type { ConsumerDefinition } from '../messaging/message-consumer.ts';
import type { SagaRunner } from './saga-runner.ts';

/**
 * The consumer of a reply queue that several sagas share: each reply goes, in the transaction of its
 * inbox row, to the runner `route` names for its saga id.
 */
export function sagaReplyConsumer(
  group: string,
  replyTo: string,
  route: (sagaId: string) => Pick<SagaRunner<unknown>, 'handleReply'>,
): ConsumerDefinition {
  return {
    group,
    kind: 'queue',
    destinations: [replyTo],
    // A reply the orchestrator cannot apply now (its database is away) is retried for long.
    maxAttempts: 20,
    handler: async (message, transaction) => {
      // Read and validated against its contract already (the consumer's `readIncoming`).
      const reply = message.data as z.output<typeof sagaReply.schema>;
      await route(reply.saga_id).handleReply(transaction, {
        sagaId: reply.saga_id,
        requestId: reply.request_id,
        success: reply.success,
        ...(reply.reason === undefined ? {} : { reason: reply.reason }),
        result: reply.result,
      });
    },
  };
}
