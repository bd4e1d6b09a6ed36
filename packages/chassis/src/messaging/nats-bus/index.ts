// Kept out of the main entry so services on the PostgreSQL store do not load the NATS client.
export { type NatsBusSettings, NatsMessageBus } from './nats-message-bus.ts';
export { streamFor } from './nats-naming.ts';
