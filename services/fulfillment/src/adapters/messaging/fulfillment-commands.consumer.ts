import { answerSagaCommands, type ConsumerDefinition, type Outbox, sagaCommand } from '@mercato/chassis';
import { FULFILLMENT_COMMANDS, holdShipment, releaseShipment } from '@mercato/contracts';
import type { Fulfillment } from '../../application/fulfillment.ts';

/** fulfillment's side of order's cancel saga: hold a parcel, or release it when the saga compensates. */
export const fulfillmentCommandsConsumer = (
  fulfillment: Fulfillment,
  outbox: Outbox,
  wake: () => void,
): ConsumerDefinition => ({
  group: 'fulfillment',
  kind: 'queue',
  destinations: [FULFILLMENT_COMMANDS],
  // A hold or cancellation waits (is retried) while the carrier is being asked about the parcel.
  maxAttempts: 30,
  backoff: { baseMs: 250, maxMs: 2_000 },
  handler: answerSagaCommands({
    source: 'fulfillment',
    outbox,
    commands: [
      sagaCommand(holdShipment, (command, transaction) =>
        fulfillment.hold(transaction, command.order_id, command.reason),
      ),
      sagaCommand(releaseShipment, async (command, transaction) => {
        const outcome = await fulfillment.release(transaction, command.order_id);
        wake();
        return outcome;
      }),
    ],
  }),
});
