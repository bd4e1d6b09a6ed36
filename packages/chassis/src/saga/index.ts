export { defineSaga, type SagaCommand, type SagaDefinition, type SagaStep } from './saga-definition.ts';
export {
  answerSagaCommands,
  replyToSaga,
  type SagaCommandHandler,
  type SagaOutcome,
  sagaCommand,
} from './saga-participant.ts';
export {
  SAGA_MIGRATIONS_TABLE,
  type SagaChange,
  type SagaRecord,
  SagaRunner,
  type SagaRunnerOptions,
  sagaMigrations,
  sagaReplyConsumer,
} from './saga-runner.ts';
export {
  advanceSaga,
  isFinished,
  type Outgoing,
  type PendingRequest,
  type SagaInput,
  type SagaState,
  type SagaStatus,
  startSaga,
  type Transition,
} from './saga-state.ts';
