import {
  answerSagaCommands,
  type ConsumerDefinition,
  isAppError,
  type Outbox,
  type SagaOutcome,
  sagaCommand,
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
  // A reservation waiting for the monolith's shelf (INVENTORY.STOCK_MOVING) is asked again for up to
  // about 25 s, inside the saga's reserve step (30 s).
  maxAttempts: 30,
  backoff: { baseMs: 100, maxMs: 1_000 },
  handler: answerSagaCommands({
    source: 'inventory',
    outbox,
    commands: [
      sagaCommand(reserveStock, async (command, transaction) => {
        const reservation = await inventory.reserveIn(transaction, {
          reservationId: command.reservation_id,
          lines: command.lines,
          ttlSeconds: command.ttl_seconds || defaultTtlSeconds,
        });
        if ('failed' in reservation)
          return { success: false, reason: 'insufficient_stock', result: { lines: reservation.failed } };
        return reservation.status === 'active' || reservation.status === 'committed'
          ? { success: true, result: { reservation_id: reservation.id } }
          : { success: false, reason: `reservation_${reservation.status}` };
      }),
      sagaCommand(releaseStock, async (command, transaction) => {
        const reservation = await inventory.releaseIn(transaction, command.reservation_id);
        return { success: true, result: { status: reservation.status } };
      }),
      sagaCommand(commitStock, async (command, transaction): Promise<SagaOutcome> => {
        try {
          await inventory.commitIn(transaction, command.reservation_id);
          return { success: true };
        } catch (error) {
          // A refusal (expired, released meanwhile) is the saga's answer; anything else is retried.
          if (!isAppError(error) || error.kind === 'internal' || error.retryable) throw error;
          return { success: false, reason: error.code };
        }
      }),
    ],
  }),
});
