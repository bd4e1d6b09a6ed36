export { connectEventLog } from './connect-event-log.ts';
export type { EventLog, LoggedEvent, LogRead } from './event-log.port.ts';
export { PostgresEventLog } from './postgres-event-log.ts';
export type { ReadModel, ReadModelEvent } from './read-model.ts';
export type { Generation, GenerationStatus } from './read-model-generations.ts';
export {
  readModelConfigShape,
  readModelMigrations,
  readModelServiceParts,
  startReadModel,
} from './read-model-parts.ts';
export { type Lag, type LiveGeneration, ReadModelRunner } from './read-model-runner.ts';
