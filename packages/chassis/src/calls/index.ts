export { callUnderWay, claimCall, releaseCall } from './call-claims.ts';
export {
  CALL_FENCED_OUT,
  CALL_IN_PROGRESS,
  type CallOutside,
  type CallStep,
  callOutside,
  finishIntent,
  type Intent,
  type OutcomeStep,
} from './call-outside.ts';
