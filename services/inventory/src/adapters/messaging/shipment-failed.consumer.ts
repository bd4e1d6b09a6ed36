import type { ConsumerDefinition } from '@mercato/chassis';
import { shipmentFailed } from '@mercato/contracts';
import type { SagaInventory } from '../../application/inventory.port.ts';

/**
 * inventory's part of the backward cascade: the stock of a shipment that failed goes back to the
 * warehouse it was committed from (releasing a committed reservation returns it to the shelf).
 */
export const shipmentFailedConsumer = (inventory: SagaInventory): ConsumerDefinition => ({
  group: 'inventory',
  kind: 'topic',
  destinations: [shipmentFailed.type],
  handler: async (message, transaction) => {
    const failed = shipmentFailed.schema.parse(message.data);
    await inventory.releaseIn(transaction, failed.reservation_id);
  },
});
