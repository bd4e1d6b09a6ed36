import {
  type ConsumerDefinition,
  isAppError,
  type Outbox,
  replyToSaga,
  type SagaOutcome,
} from '@mercato/chassis';
import { commitStock, INVENTORY_COMMANDS, releaseStock, reserveStock } from '@mercato/contracts';
import type { SagaInventory } from '../../application/inventory.port.ts';

/**
 * inventory's side of the PlaceOrder saga: reserve, release and commit commands from the
 * `inventory.commands` work queue, each handled with its inbox row and its reply in one
 * transaction. Every command is idempotent by reservation id, so a resent command (a saga
 * retrying a compensation) finds what the first did.
 */
export const inventoryCommandsConsumer = (
  inventory: SagaInventory,
  outbox: Outbox,
  defaultTtlSeconds: number,
): ConsumerDefinition => ({
  group: 'inventory',
  kind: 'queue',
  destinations: [INVENTORY_COMMANDS],
  handler: async (message, transaction) => {
    const origin = {
      source: 'inventory',
      correlationId: message.correlation_id,
      causationId: message.event_id,
    };
    if (message.event_type === reserveStock.type) {
      const command = reserveStock.schema.parse(message.data);
      const reservation = await inventory.reserveIn(transaction, {
        reservationId: command.reservation_id,
        lines: command.lines,
        ttlSeconds: command.ttl_seconds || defaultTtlSeconds,
      });
      const outcome: SagaOutcome =
        'failed' in reservation
          ? { success: false, reason: 'insufficient_stock', result: { lines: reservation.failed } }
          : reservation.status === 'active' || reservation.status === 'committed'
            ? { success: true, result: { reservation_id: reservation.id } }
            : { success: false, reason: `reservation_${reservation.status}` };
      await replyToSaga(outbox, transaction, command.saga, outcome, origin);
      return;
    }
    if (message.event_type === releaseStock.type) {
      const command = releaseStock.schema.parse(message.data);
      const reservation = await inventory.releaseIn(transaction, command.reservation_id);
      await replyToSaga(
        outbox,
        transaction,
        command.saga,
        { success: true, result: { status: reservation.status } },
        origin,
      );
      return;
    }
    if (message.event_type === commitStock.type) {
      const command = commitStock.schema.parse(message.data);
      let outcome: SagaOutcome;
      try {
        await inventory.commitIn(transaction, command.reservation_id);
        outcome = { success: true };
      } catch (error) {
        // A refusal (expired, released meanwhile) is the saga's answer; anything else is retried.
        if (!isAppError(error) || error.kind === 'internal' || error.retryable) throw error;
        outcome = { success: false, reason: error.code };
      }
      await replyToSaga(outbox, transaction, command.saga, outcome, origin);
      return;
    }
    throw new Error(`inventory.commands: no handler for ${message.event_type}`);
  },
});
