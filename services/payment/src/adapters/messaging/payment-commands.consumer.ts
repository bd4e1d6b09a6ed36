import { type ConsumerDefinition, replyToSaga } from '@mercato/chassis';
import { PAYMENT_COMMANDS, refundPayment, takePayment } from '@mercato/contracts';
import {
  type PaymentCommandDeps,
  refundOrderPayment,
  takeOrderPayment,
} from '../../application/payment-commands.ts';

/**
 * payment's side of the PlaceOrder saga, from the `payment.commands` work queue. Each command is
 * handled alone in its transaction (it waits on the provider, and must not hold others), with its
 * inbox row and its reply. A provider that is down is retried with backoff for minutes: commands
 * carry their own deadline, so nothing waits on them forever.
 */
export const paymentCommandsConsumer = (deps: PaymentCommandDeps): ConsumerDefinition => ({
  group: 'payment',
  kind: 'queue',
  destinations: [PAYMENT_COMMANDS],
  batchSize: 1,
  maxAttempts: 30,
  backoff: { baseMs: 250, maxMs: 2_000 },
  handler: async (message, transaction) => {
    const origin = {
      source: 'payment',
      correlationId: message.correlation_id,
      causationId: message.event_id,
    };
    if (message.event_type === takePayment.type) {
      const command = takePayment.schema.parse(message.data);
      const outcome = await takeOrderPayment(deps, transaction, command, message.correlation_id);
      await replyToSaga(deps.outbox, transaction, command.saga, outcome, origin);
      return;
    }
    if (message.event_type === refundPayment.type) {
      const command = refundPayment.schema.parse(message.data);
      const outcome = await refundOrderPayment(deps, transaction, command, message.correlation_id);
      await replyToSaga(deps.outbox, transaction, command.saga, outcome, origin);
      return;
    }
    throw new Error(`payment.commands: no handler for ${message.event_type}`);
  },
});
