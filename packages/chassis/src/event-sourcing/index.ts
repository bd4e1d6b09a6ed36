export {
  concurrencyConflict,
  EVENT_STORE_MIGRATIONS_TABLE,
  eventStoreMigrations,
  LOG_START,
  type LogPosition,
  type NewEvent,
  PostgresEventStore,
  type StoredEvent,
  type Upcaster,
} from './postgres-event-store.ts';
export { type Projection, ProjectionRunner } from './projection-runner.ts';
