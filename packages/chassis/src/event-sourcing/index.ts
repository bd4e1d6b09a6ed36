export {
  concurrencyConflict,
  EVENT_STORE_MIGRATIONS_TABLE,
  type EventSchemas,
  eventStoreMigrations,
  LOG_START,
  type LogPosition,
  type NewEvent,
  PostgresEventStore,
  type SnapshotSchema,
  type StoredEvent,
  unreadableEvent,
} from './postgres-event-store.ts';
export { type Projection, ProjectionRunner } from './projection-runner.ts';
export { type SchemaVersions, type Upcaster as SchemaUpcaster, upcastTo } from './schema-versions.ts';
