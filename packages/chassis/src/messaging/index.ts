export { type CallsOutHandler, handleCallingOutOnce } from './calls-out-handler.ts';
export { deadLetterRoutes } from './dead-letter.routes.ts';
export { type DeadLetter, DeadLetterStore } from './dead-letter-store.ts';
export { handleOnce, type MessageHandler } from './inbox.ts';
export type {
  Delivery,
  DestinationKind,
  MessageBus,
  OutgoingMessage,
  Subscription,
  SubscriptionOptions,
} from './message-bus.port.ts';
export { type ConsumerDefinition, MessageConsumer } from './message-consumer.ts';
export {
  MESSAGING_MIGRATIONS_TABLE,
  messageStoreMigrations,
  messagingMigrations,
} from './migrations-path.ts';
export { OUTBOX_CHANNEL, Outbox, type OutboxEntry } from './outbox.ts';
export { OutboxRelay } from './outbox-relay.ts';
export { PostgresMessageBus } from './postgres-bus/postgres-message-bus.ts';
export { type BackoffPolicy, retryDelay } from './retry-backoff.ts';
export {
  createServiceMessaging,
  type MessagingConfig,
  messagingConfigShape,
  type ServiceMessaging,
} from './service-messaging.ts';
