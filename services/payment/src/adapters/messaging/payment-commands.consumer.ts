import { answerSagaCommands, type ConsumerDefinition, sagaCommand } from '@mercato/chassis';
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
  handler: answerSagaCommands({
    source: 'payment',
    outbox: deps.outbox,
    commands: [
      sagaCommand(takePayment, (command, transaction, message) =>
        takeOrderPayment(deps, transaction, command, message.correlation_id),
      ),
      sagaCommand(refundPayment, (command, transaction, message) =>
        refundOrderPayment(deps, transaction, command, message.correlation_id),
      ),
    ],
  }),
});
