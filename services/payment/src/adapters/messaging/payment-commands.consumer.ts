import { answerSagaCommandsCallingOut, type ConsumerDefinition, sagaCallingCommand } from '@mercato/chassis';
import { PAYMENT_COMMANDS, refundPayment, takePayment } from '@mercato/contracts';
import {
  type PaymentCommandDeps,
  paymentSubject,
  refundOrderPayment,
  takeOrderPayment,
} from '../../application/payment-commands.ts';

/**
 * payment's side of the PlaceOrder saga, from the `payment.commands` work queue. Each command is
 * claim, call, record: the order's payment is claimed in a short transaction, the provider called
 * with none open, the outcome recorded with the inbox row and the reply in a second transaction. A
 * command about an order whose payment another attempt is calling about waits (is retried) until
 * that is recorded. A provider that is down is retried with backoff for minutes: commands carry
 * their own deadline, so nothing waits on them forever.
 */
export const paymentCommandsConsumer = (deps: PaymentCommandDeps, leaseMs: number): ConsumerDefinition => ({
  group: 'payment',
  kind: 'queue',
  destinations: [PAYMENT_COMMANDS],
  maxAttempts: 30,
  backoff: { baseMs: 250, maxMs: 2_000 },
  callsOut: answerSagaCommandsCallingOut({
    source: 'payment',
    outbox: deps.outbox,
    leaseMs,
    commands: [
      sagaCallingCommand(takePayment, {
        subject: (command) => paymentSubject(command.order_id),
        intent: (command, transaction, message) =>
          takeOrderPayment(deps, transaction, command, message.correlation_id),
      }),
      sagaCallingCommand(refundPayment, {
        subject: (command) => paymentSubject(command.order_id),
        intent: (command, transaction, message) =>
          refundOrderPayment(deps, transaction, command, message.correlation_id),
      }),
    ],
  }),
});
