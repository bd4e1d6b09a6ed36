export {
  FULFILLMENT_COMMANDS,
  fulfillmentCommands,
  holdShipment,
  releaseShipment,
} from './commands/fulfillment-commands.ts';
export {
  commitStock,
  INVENTORY_COMMANDS,
  inventoryCommands,
  releaseStock,
  reserveStock,
} from './commands/inventory-commands.ts';
export {
  NOTIFICATION_REQUESTS,
  notificationCommands,
  notificationRequest,
} from './commands/notification-commands.ts';
export {
  PAYMENT_COMMANDS,
  paymentCommands,
  refundPayment,
  takePayment,
} from './commands/payment-commands.ts';
export {
  ORDER_SAGA_REPLIES,
  type SagaRequest,
  sagaReply,
  sagaRequest,
} from './commands/saga-messages.ts';
export { createEnvelope, type EnvelopeOptions } from './create-envelope.ts';
export { type Envelope, type EnvelopeMetadata, envelopeSchema } from './envelope.ts';
export { catalogEvents, productCreated, productUpdated } from './events/catalog-events.ts';
export { customerEvents, customersHandedBack, customerUpdated } from './events/customer-events.ts';
export { identityEvents, userRegistered } from './events/identity-events.ts';
export {
  inventoryEvents,
  inventoryReleased,
  inventoryReservationFailed,
  inventoryReserved,
  legacyShelfReturned,
  stockLow,
} from './events/inventory-events.ts';
export {
  legacyCapabilityChanged,
  legacyCustomerChanged,
  legacyEvents,
  legacyOrderChanged,
  legacyOrderLineChanged,
  legacyProductChanged,
  legacyStockChanged,
} from './events/legacy-events.ts';
export { notificationEvents, notificationSent } from './events/notification-events.ts';
export {
  orderCancelled,
  orderCancelRefused,
  orderCancelRequested,
  orderConfirmed,
  orderCreated,
  orderDelivered,
  orderEvents,
  orderFailed,
  orderInventoryReserved,
  orderPaymentAuthorized,
  orderShipped,
} from './events/order-events.ts';
export { paymentEvents, paymentFailed, paymentProcessed, paymentRefunded } from './events/payment-events.ts';
export {
  shipmentDelivered,
  shipmentDispatched,
  shipmentEvents,
  shipmentFailed,
} from './events/shipment-events.ts';
export {
  compareLogPositions,
  legacyKeyOf,
  legacyOrderId,
  legacyOrderStatus,
  legacyProductId,
  legacySku,
  legacyUserId,
  logPositionValue,
} from './legacy-ids.ts';
export {
  type DataOf,
  defineCommand,
  defineEvent,
  type MessageContract,
  type Upcaster,
} from './message-contract.ts';
export { type Checked, MessageRegistry } from './message-registry.ts';
export { shopDestinations } from './shop-destinations.ts';
export {
  formatOrderLogPosition,
  type OrderLogPosition,
  parseOrderLogPosition,
  parseOrderStreamVersion,
} from './streams/order-stream-resume.ts';
export { ulid } from './ulid.ts';
