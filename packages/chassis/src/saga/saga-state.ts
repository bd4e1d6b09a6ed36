import type { SagaCommand, SagaDefinition } from './saga-definition.ts';

export type SagaStatus = 'running' | 'compensating' | 'completed' | 'compensated' | 'failed';

/** The one request a saga waits on: replies with any other id are stale or duplicates. */
export interface PendingRequest {
  requestId: string;
  step: number;
  kind: 'invoke' | 'compensate';
  attempt: number;
  /** Epoch ms after which the saga stops waiting (a durable timer fires a `timeout`). */
  deadline: number;
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
  /** Why it is compensating, compensated or failed. */
  reason: string | null;
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
  command: SagaCommand;
}

export interface Transition<Data> {
  state: SagaState<Data>;
  send: Outgoing[];
  /** Set when the input changed nothing: a stale or duplicate reply, or a saga already finished. */
  ignored?: 'stale' | 'finished';
}

const request = <Data>(
  state: SagaState<Data>,
  step: number,
  kind: 'invoke' | 'compensate',
  attempt: number,
  command: SagaCommand,
  definition: SagaDefinition<Data>,
  now: number,
): Transition<Data> => {
  const idempotencyKey = `${state.sagaId}:${step}:${kind}`;
  const requestId = `${idempotencyKey}:${attempt}`;
  // A compensation tried again waits longer each time (×2, ×3, ×4 at most): a participant that is
  // slow rather than down gets the time it needs instead of a pile of resent commands.
  const timeoutMs = (definition.steps[step]?.timeoutMs ?? 0) * Math.min(attempt, 4);
  return {
    state: { ...state, pending: { requestId, step, kind, attempt, deadline: now + timeoutMs } },
    send: [{ requestId, idempotencyKey, step, kind, command }],
  };
};

/**
 * A compensation is idempotent by its key, so an earlier attempt that succeeded has done what the
 * current one would: its success ends the wait. (An earlier attempt's failure is stale: the current
 * attempt may still succeed.) Without this, a participant slower than the timeout would have every
 * success arrive just after the next attempt was sent, and the saga would never finish.
 */
const answersPendingCompensation = (pending: PendingRequest, input: SagaInput): boolean => {
  if (pending.kind !== 'compensate' || input.type !== 'reply' || !input.success) return false;
  const prefix = pending.requestId.slice(0, pending.requestId.lastIndexOf(':') + 1);
  return input.requestId.startsWith(prefix);
};

/** Runs steps from `from` until one has a command to send, or none is left. */
function forward<Data>(
  definition: SagaDefinition<Data>,
  state: SagaState<Data>,
  from: number,
  now: number,
): Transition<Data> {
  for (let step = from; step < definition.steps.length; step += 1) {
    const deadline = now + (definition.steps[step]?.timeoutMs ?? 0);
    const command = definition.steps[step]?.invoke(state.data, { deadline });
    if (command) return request({ ...state, status: 'running' }, step, 'invoke', 1, command, definition, now);
  }
  return { state: { ...state, status: 'completed', pending: null }, send: [] };
}

/** Sends the next compensation, backwards through what was done; compensated when none is left. */
function compensateNext<Data>(
  definition: SagaDefinition<Data>,
  state: SagaState<Data>,
  now: number,
): Transition<Data> {
  const [step, ...rest] = state.toCompensate;
  if (step === undefined) return { state: { ...state, status: 'compensated', pending: null }, send: [] };
  const command = definition.steps[step]?.compensate?.(state.data);
  const next = { ...state, status: 'compensating' as const, toCompensate: rest };
  if (!command) return compensateNext(definition, next, now);
  return request(next, step, 'compensate', 1, command, definition, now);
}

function startCompensating<Data>(
  definition: SagaDefinition<Data>,
  state: SagaState<Data>,
  reason: string,
  now: number,
): Transition<Data> {
  return compensateNext(definition, { ...state, reason, toCompensate: [...state.done].reverse() }, now);
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
  };
  return forward(definition, state, 0, now);
}

/**
 * The saga after a reply or a timeout. Pure: the caller persists the state and sends the commands
 * in one transaction (with the inbox row of the reply it consumed).
 *
 * - A reply or timeout for anything but the pending request changes nothing (stale, duplicate, or
 *   a reply that comes after its step timed out).
 * - A step that times out may still have taken effect, so it is compensated with the steps before
 *   it; its late reply is then ignored, never applied.
 * - A step that fails is not compensated (it did nothing); the steps before it are, backwards.
 * - A compensation that fails or times out is tried again, up to `maxCompensationAttempts`; then
 *   the saga is FAILED, with the step it could not undo in `reason`.
 */
export function advanceSaga<Data>(
  definition: SagaDefinition<Data>,
  state: SagaState<Data>,
  input: SagaInput,
  now: number,
): Transition<Data> {
  const pending = state.pending;
  if (!pending) return { state, send: [], ignored: 'finished' };
  if (input.type === 'abort') {
    // Already going backwards: nothing more to stop.
    if (pending.kind === 'compensate') return { state, send: [], ignored: 'finished' };
    // The step in flight may still take effect, so it is compensated with those before it.
    return startCompensating(
      definition,
      { ...state, pending: null, done: [...state.done, pending.step] },
      input.reason,
      now,
    );
  }
  if (input.requestId !== pending.requestId && !answersPendingCompensation(pending, input))
    return { state, send: [], ignored: 'stale' };
  const step = definition.steps[pending.step];
  const settled = { ...state, pending: null };

  if (pending.kind === 'invoke') {
    if (input.type === 'reply' && input.success) {
      const data = step?.onReply ? step.onReply(state.data, input.reply ?? {}) : state.data;
      return forward(
        definition,
        { ...settled, data, done: [...state.done, pending.step] },
        pending.step + 1,
        now,
      );
    }
    if (input.type === 'timeout')
      return startCompensating(
        definition,
        { ...settled, done: [...state.done, pending.step] },
        `${step?.name ?? pending.step} timed out`,
        now,
      );
    return startCompensating(
      definition,
      settled,
      `${step?.name ?? pending.step} failed: ${input.reason}`,
      now,
    );
  }

  if (input.type === 'reply' && input.success) return compensateNext(definition, settled, now);
  if (pending.attempt >= definition.maxCompensationAttempts)
    return {
      state: {
        ...settled,
        status: 'failed',
        reason: `could not undo ${step?.name ?? pending.step} after ${pending.attempt} attempts (${state.reason})`,
      },
      send: [],
    };
  const command = step?.compensate?.(state.data);
  if (!command) return compensateNext(definition, settled, now);
  return request(settled, pending.step, 'compensate', pending.attempt + 1, command, definition, now);
}

export const isFinished = (status: SagaStatus): boolean =>
  status === 'completed' || status === 'compensated' || status === 'failed';
