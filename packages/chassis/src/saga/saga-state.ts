import type { SagaCommand, SagaDefinition, SagaStep } from './saga-definition.ts';

/**
 * `stuck`: retrying a step at or after the pivot forward beyond its timeout; the saga still moves
 * on by itself once the step succeeds, but a person should know (see `SagaState.stuck`).
 */
export type SagaStatus = 'running' | 'stuck' | 'compensating' | 'completed' | 'compensated' | 'failed';

/** The one request a saga waits on: replies with any other id are stale or duplicates. */
export interface PendingRequest {
  requestId: string;
  step: number;
  kind: 'invoke' | 'compensate';
  attempt: number;
  /** Epoch ms after which the saga stops waiting (a durable timer fires a `timeout`). */
  deadline: number;
  /** Epoch ms when the first attempt was sent (absent in states stored before it was kept). */
  since?: number;
  /**
   * A step retried forward that answered with a failure: that attempt is settled, and the timer at
   * `deadline` sends the next one (a participant that fails fast is not asked again at once).
   */
  backoff?: boolean;
}

/** Why a saga is stuck: the step it keeps retrying forward, since when, and what it last heard. */
export interface StuckStep {
  step: string;
  since: number;
  attempts: number;
  why: string;
}

/** Everything a saga is, as JSON: persisted after each transition, so a restart resumes it. */
export interface SagaState<Data> {
  sagaId: string;
  status: SagaStatus;
  data: Data;
  /** Steps whose effect may exist, in the order they were done. */
  done: number[];
  /** Steps still to compensate, next first. */
  toCompensate: number[];
  pending: PendingRequest | null;
  /** Why it is compensating, compensated, failed or stuck. */
  reason: string | null;
  /** Set while stuck (absent in states stored before it was kept). */
  stuck?: StuckStep | null;
}

export type SagaInput =
  | { type: 'reply'; requestId: string; success: true; reply?: Record<string, unknown> }
  | { type: 'reply'; requestId: string; success: false; reason: string }
  | { type: 'timeout'; requestId: string }
  /** Stop going forward (e.g. the order was cancelled): compensate what may have taken effect. */
  | { type: 'abort'; reason: string };

/** A command to send in the transaction that stores the new state. */
export interface Outgoing {
  requestId: string;
  /** The same for every attempt of one step's command or compensation: participants dedupe on it. */
  idempotencyKey: string;
  step: number;
  kind: 'invoke' | 'compensate';
  attempt: number;
  command: SagaCommand;
}

/**
 * Why an input changed nothing: `stale` (a duplicate, or a reply after its step moved on),
 * `finished` (nothing pending, or an abort while compensating already), `past_pivot` (an abort once
 * the pivot may have happened: the saga can only go forward).
 */
export type Ignored = 'stale' | 'finished' | 'past_pivot';

export interface Transition<Data> {
  state: SagaState<Data>;
  send: Outgoing[];
  /** Set when the input changed nothing. */
  ignored?: Ignored;
}

/** What the timing of a step's attempts depends on. */
type StepTiming = Pick<SagaStep<unknown>, 'timeoutMs' | 'resends'>;

/** One of the `1 + resends` even slices of a step's timeout: how long one attempt is waited for. */
const slice = (step: StepTiming): number => Math.ceil(step.timeoutMs / (1 + step.resends));

/**
 * How long attempt `attempt` of a step is waited for: a slice while within the step's timeout; a
 * step retried forward beyond it waits twice as long each time, up to `maxRetryIntervalMs`.
 */
export function attemptWait(maxRetryIntervalMs: number, step: StepTiming, attempt: number): number {
  const beyond = attempt - (1 + step.resends);
  if (beyond <= 0) return slice(step);
  return Math.min(slice(step) * 2 ** beyond, Math.max(maxRetryIntervalMs, slice(step)));
}

/** A compensation tried again waits longer each time (×2, ×3, ×4 at most): slow is not down. */
const compensationWait = (step: StepTiming, attempt: number): number => slice(step) * Math.min(attempt, 4);

const keyOf = (requestId: string): string => requestId.slice(0, requestId.lastIndexOf(':'));

function send<Data>(
  state: SagaState<Data>,
  step: number,
  kind: 'invoke' | 'compensate',
  attempt: number,
  timing: { since: number; deadline: number },
  command: SagaCommand,
): Transition<Data> {
  const idempotencyKey = `${state.sagaId}:${step}:${kind}`;
  const requestId = `${idempotencyKey}:${attempt}`;
  return {
    state: { ...state, pending: { requestId, step, kind, attempt, ...timing } },
    send: [{ requestId, idempotencyKey, step, kind, attempt, command }],
  };
}

/**
 * Whether an input answers the pending request. Every attempt of one piece of work carries the same
 * idempotency key and participants dedupe on it, so the success of an earlier attempt has done what
 * the pending one would: it ends the wait (without this, a participant slower than one attempt's
 * wait would have every success arrive just after the next attempt went out). An earlier attempt's
 * failure is stale: the pending attempt may still succeed.
 */
function answers(pending: PendingRequest, input: Exclude<SagaInput, { type: 'abort' }>): boolean {
  if (input.type === 'timeout') return input.requestId === pending.requestId;
  const sameWork = keyOf(input.requestId) === keyOf(pending.requestId);
  if (input.success) return sameWork;
  // Waiting out a backoff, the pending attempt has had its answer already: a repeat of it is stale.
  return !pending.backoff && input.requestId === pending.requestId;
}

/** Sends attempt `attempt` of a step; undefined when the step has nothing to send for this saga. */
function invokeAttempt<Data>(
  definition: SagaDefinition<Data>,
  state: SagaState<Data>,
  stepIndex: number,
  attempt: number,
  since: number,
  now: number,
): Transition<Data> | undefined {
  const step = definition.steps[stepIndex];
  if (!step) return undefined;
  const deadline = now + attemptWait(definition.maxRetryIntervalMs, step, attempt);
  const command = step.invoke(state.data, { deadline: Math.max(since + step.timeoutMs, deadline) });
  return command && send(state, stepIndex, 'invoke', attempt, { since, deadline }, command);
}

/** Runs steps from `from` until one has a command to send, or none is left. */
function forward<Data>(
  definition: SagaDefinition<Data>,
  state: SagaState<Data>,
  from: number,
  now: number,
): Transition<Data> {
  const going: SagaState<Data> = { ...state, status: 'running', reason: null, stuck: null };
  for (let step = from; step < definition.steps.length; step += 1) {
    const sent = invokeAttempt(definition, going, step, 1, now, now);
    if (sent) return sent;
  }
  return { state: { ...going, status: 'completed', pending: null }, send: [] };
}

/**
 * The next attempt of the pending step, now. Beyond its `1 + resends` attempts the saga is stuck:
 * it keeps retrying, and says which step, since when, and why.
 */
function resend<Data>(
  definition: SagaDefinition<Data>,
  state: SagaState<Data>,
  pending: PendingRequest,
  why: string,
  now: number,
): Transition<Data> {
  const step = definition.steps[pending.step] as SagaStep<Data>;
  const attempt = pending.attempt + 1;
  const next = attempt > 1 + step.resends ? stuckOn(state, step, pending.attempt, why, now) : state;
  return (
    invokeAttempt(definition, next, pending.step, attempt, pending.since ?? now, now) ??
    forward(definition, next, pending.step + 1, now)
  );
}

function stuckOn<Data>(
  state: SagaState<Data>,
  step: SagaStep<Data>,
  attempts: number,
  why: string,
  now: number,
): SagaState<Data> {
  return {
    ...state,
    status: 'stuck',
    reason: why,
    stuck: { step: step.name, since: state.stuck?.since ?? now, attempts, why },
  };
}

/** A retriable step failed: it is sent again after a backoff, never compensated. */
function retryLater<Data>(
  definition: SagaDefinition<Data>,
  state: SagaState<Data>,
  pending: PendingRequest,
  why: string,
  now: number,
): Transition<Data> {
  const step = definition.steps[pending.step] as SagaStep<Data>;
  const next = pending.attempt + 1;
  const waiting = next > 1 + step.resends ? stuckOn(state, step, pending.attempt, why, now) : state;
  const delay = attemptWait(definition.maxRetryIntervalMs, step, next);
  return {
    state: { ...waiting, pending: { ...pending, deadline: now + delay, backoff: true } },
    send: [],
  };
}

/** Sends the next compensation, backwards through what was done; compensated when none is left. */
function compensateNext<Data>(
  definition: SagaDefinition<Data>,
  state: SagaState<Data>,
  now: number,
): Transition<Data> {
  const [step, ...rest] = state.toCompensate;
  if (step === undefined) return { state: { ...state, status: 'compensated', pending: null }, send: [] };
  const definitionStep = definition.steps[step];
  const command = definitionStep?.compensate?.(state.data);
  const next = { ...state, status: 'compensating' as const, toCompensate: rest };
  if (!definitionStep || !command) return compensateNext(definition, next, now);
  const deadline = now + compensationWait(definitionStep, 1);
  return send(next, step, 'compensate', 1, { since: now, deadline }, command);
}

function startCompensating<Data>(
  definition: SagaDefinition<Data>,
  state: SagaState<Data>,
  reason: string,
  now: number,
): Transition<Data> {
  return compensateNext(
    definition,
    { ...state, reason, stuck: null, toCompensate: [...state.done].reverse() },
    now,
  );
}

/** A new saga: its first step's command. */
export function startSaga<Data>(
  definition: SagaDefinition<Data>,
  sagaId: string,
  data: Data,
  now: number,
): Transition<Data> {
  const state: SagaState<Data> = {
    sagaId,
    status: 'running',
    data,
    done: [],
    toCompensate: [],
    pending: null,
    reason: null,
    stuck: null,
  };
  return forward(definition, state, 0, now);
}

const ignore = <Data>(state: SagaState<Data>, why: Ignored): Transition<Data> => ({
  state,
  send: [],
  ignored: why,
});

/**
 * The saga after a reply, a timeout or an abort. Pure: the caller persists the state and sends the
 * commands in one transaction (with the inbox row of the reply it consumed).
 *
 * - A reply or timeout for anything but the pending request changes nothing (stale, duplicate, or
 *   a reply that comes after its step moved on), except an earlier attempt's success (see `answers`).
 * - A step that times out is sent again with the same idempotency key, `resends` times within its
 *   timeout. Then a compensatable step, which may have taken effect, is compensated with the steps
 *   before it (its late reply is ignored, never applied); a pivot or retriable step cannot be undone,
 *   so it goes on being sent, waiting longer each time, and the saga is `stuck` until it answers.
 * - A step that fails did nothing. Up to the pivot, the steps before it are compensated, backwards;
 *   after it, the step is sent again after a backoff (stuck once its attempts are used up).
 * - A compensation that fails or times out is tried again, up to `maxCompensationAttempts`; then
 *   the saga is FAILED, with the step it could not undo in `reason`.
 * - No step at or after the pivot is ever compensated, and an abort once the pivot may have happened
 *   is refused (`past_pivot`).
 */
export function advanceSaga<Data>(
  definition: SagaDefinition<Data>,
  state: SagaState<Data>,
  input: SagaInput,
  now: number,
): Transition<Data> {
  const pending = state.pending;
  if (!pending) return ignore(state, 'finished');
  const step = definition.steps[pending.step];
  if (!step) throw new Error(`saga ${definition.name}: no step ${pending.step} (saga ${state.sagaId})`);

  if (input.type === 'abort') {
    // Already going backwards: nothing more to stop.
    if (pending.kind === 'compensate') return ignore(state, 'finished');
    if (step.kind !== 'compensatable') return ignore(state, 'past_pivot');
    // The step in flight may still take effect, so it is compensated with those before it.
    return startCompensating(
      definition,
      { ...state, pending: null, done: [...state.done, pending.step] },
      input.reason,
      now,
    );
  }
  if (!answers(pending, input)) return ignore(state, 'stale');
  const settled = { ...state, pending: null };

  if (pending.kind === 'compensate') {
    if (input.type === 'reply' && input.success) return compensateNext(definition, settled, now);
    if (pending.attempt >= definition.maxCompensationAttempts)
      return {
        state: {
          ...settled,
          status: 'failed',
          reason: `could not undo ${step.name} after ${pending.attempt} attempts (${state.reason})`,
        },
        send: [],
      };
    const command = step.compensate?.(state.data);
    if (!command) return compensateNext(definition, settled, now);
    const attempt = pending.attempt + 1;
    const deadline = now + compensationWait(step, attempt);
    return send(
      settled,
      pending.step,
      'compensate',
      attempt,
      { since: pending.since ?? now, deadline },
      command,
    );
  }

  if (input.type === 'reply' && input.success) {
    const data = step.onReply ? step.onReply(state.data, input.reply ?? {}) : state.data;
    return forward(
      definition,
      { ...settled, data, done: [...state.done, pending.step] },
      pending.step + 1,
      now,
    );
  }
  if (input.type === 'reply') {
    const why = `${step.name} failed: ${input.reason}`;
    if (step.kind === 'retriable') return retryLater(definition, state, pending, why, now);
    return startCompensating(definition, settled, why, now);
  }
  // A timeout.
  if (pending.backoff)
    return resend(
      definition,
      settled,
      pending,
      state.stuck?.why ?? state.reason ?? `${step.name} failed`,
      now,
    );
  const why = `${step.name} timed out`;
  if (pending.attempt <= step.resends || step.kind !== 'compensatable')
    return resend(definition, settled, pending, `${why} (${pending.attempt} attempts)`, now);
  return startCompensating(definition, { ...settled, done: [...state.done, pending.step] }, why, now);
}

export const isFinished = (status: SagaStatus): boolean =>
  status === 'completed' || status === 'compensated' || status === 'failed';
