export {
  defineSaga,
  type SagaCommand,
  type SagaDefinition,
  type SagaOptions,
  type SagaStep,
  type SagaStepKind,
} from './saga-definition.ts';
export { listSagas, type SagaListItem, type SagaListQuery } from './saga-list.ts';
export {
  answerSagaCommands,
  answerSagaCommandsCallingOut,
  replyToSaga,
  type SagaCallingCommandHandler,
  type SagaCommandHandler,
  type SagaOutcome,
  sagaCallingCommand,
  sagaCommand,
} from './saga-participant.ts';
export { sagaReplyConsumer } from './saga-reply-consumer.ts';
export {
  type InputOutcome,
  SAGA_MIGRATIONS_TABLE,
  type SagaChange,
  type SagaRecord,
  SagaRunner,
  type SagaRunnerOptions,
  sagaMigrations,
} from './saga-runner.ts';
export {
  advanceSaga,
  attemptWait,
  type Ignored,
  isFinished,
  type Outgoing,
  type PendingRequest,
  type SagaInput,
  type SagaState,
  type SagaStatus,
  type StuckStep,
  startSaga,
  type Transition,
} from './saga-state.ts';
