export { defineSaga, type SagaCommand, type SagaDefinition, type SagaStep } from './saga-definition.ts';
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
