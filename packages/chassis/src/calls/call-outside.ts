import { inTransaction, type Pool, type Transaction } from '../db/database.ts';
import { AppError } from '../errors/app-error.ts';
import { newId } from '../ids.ts';
import { claimCall, releaseCall } from './call-claims.ts';

/** Step 3: records what the call returned, in a transaction of its own; returns the result. */
export type OutcomeStep<R> = (transaction: Transaction) => Promise<R>;
/** Step 2: the call, with no transaction open; `signal` aborts when the claim runs out. */
export type CallStep<R> = (signal: AbortSignal) => Promise<OutcomeStep<R>>;
/** What step 1 decided: settled at once (no call needed; written in its transaction), or a call. */
export type Intent<R> = { settled: R } | { call: CallStep<R> };

export interface CallOutside<R> {
  /** What the call is about: two calls about the same subject are never under way at once. */
  subject: string;
  /** How long a claim holds; the call is aborted before it runs out. Longer than the call can take. */
  leaseMs: number;
  /** Step 1, in a transaction holding the subject's claim: read (and lock) state, decide. */
  intent: (transaction: Transaction) => Promise<Intent<R>>;
}

/** Another attempt is calling about the subject now: try again later (the claim is short). */
export const CALL_IN_PROGRESS = 'CHASSIS.CALL_IN_PROGRESS';
/** This attempt's claim expired and another took it over: its outcome is not recorded. */
export const CALL_FENCED_OUT = 'CHASSIS.CALL_FENCED_OUT';

/** What part of the claim's time the call may use, so it ends before another can take over. */
const CALL_SHARE = 0.9;

/**
 * Claim, call, record: the pattern for any work that calls another process and records what came
 * back. (1) A short transaction claims the subject (mercato_calls) and runs `intent`, which locks
 * and reads the state and either settles at once or returns the call; it commits. (2) The call runs
 * with no transaction open. (3) A second transaction ends the claim, which must still be this
 * attempt's, and runs the outcome step. A concurrent attempt on the same subject meets the claim and
 * fails with CALL_IN_PROGRESS (retryable); one that outlived its claim is fenced out in (3) and
 * records nothing; a crash between (1) and (3) leaves the claim to expire, and the next attempt
 * repeats the call, which must therefore carry a stable idempotency key.
 */
export async function callOutside<R>(pool: Pool, work: CallOutside<R>): Promise<R> {
  const { subject, leaseMs } = work;
  const by = newId('call');
  const decided = await inTransaction(pool, async (transaction) => {
    if (!(await claimCall(transaction, subject, by, leaseMs)))
      throw new AppError({
        code: CALL_IN_PROGRESS,
        kind: 'conflict',
        retryable: true,
        message: `a call about ${subject} is under way elsewhere; try again when it is recorded`,
      });
    const intent = await work.intent(transaction);
    if ('settled' in intent) await releaseCall(transaction, subject, by);
    return intent;
  });
  if ('settled' in decided) return decided.settled;
  let outcome: OutcomeStep<R>;
  try {
    outcome = await decided.call(AbortSignal.timeout(Math.max(1, Math.floor(leaseMs * CALL_SHARE))));
  } catch (error) {
    // Nothing to record: let the next attempt claim at once rather than wait out the lease.
    await releaseCall(pool, subject, by).catch(() => undefined);
    throw error;
  }
  let fenced = false;
  try {
    return await inTransaction(pool, async (transaction) => {
      if (!(await releaseCall(transaction, subject, by))) {
        fenced = true;
        throw new AppError({
          code: CALL_FENCED_OUT,
          kind: 'conflict',
          retryable: true,
          message: `the claim on ${subject} expired during the call and was taken over; its outcome is not recorded`,
        });
      }
      return outcome(transaction);
    });
  } catch (error) {
    if (!fenced) await releaseCall(pool, subject, by).catch(() => undefined);
    throw error;
  }
}

/** `intent` followed by `finish`, run in whichever transaction settles it (step 1 or step 3). */
export async function finishIntent<A, B>(
  intent: Intent<A>,
  transaction: Transaction,
  finish: (transaction: Transaction, value: A) => Promise<B>,
): Promise<Intent<B>> {
  if ('settled' in intent) return { settled: await finish(transaction, intent.settled) };
  const { call } = intent;
  return {
    call: async (signal) => {
      const outcome = await call(signal);
      return async (outcomeTransaction) => finish(outcomeTransaction, await outcome(outcomeTransaction));
    },
  };
}
