import { AsyncLocalStorage } from 'node:async_hooks';
import { AppError } from '../errors/app-error.ts';

/**
 * Marks the async context of work running inside `inTransaction`, so that code which must never run
 * there (a call to another process) can refuse. A call made with a transaction open holds that
 * transaction, its row locks and its pool connection for as long as the other process takes, and
 * holds back every snapshot-based reader of the server (see docs/external-calls.md).
 */
const scope = new AsyncLocalStorage<{ readonly openedAt: number }>();

export const runInTransactionScope = <T>(work: () => Promise<T>): Promise<T> =>
  scope.run({ openedAt: Date.now() }, work);

/** Whether the current async context is inside `inTransaction`'s work. */
export const insideTransaction = (): boolean => scope.getStore() !== undefined;

export const CALL_IN_TRANSACTION = 'CHASSIS.CALL_IN_TRANSACTION';

/**
 * Throws a programming error when called inside a transaction: every client of another process
 * (the chassis gRPC client, HTTP adapters, SMTP) calls it before it starts a call. Not retryable:
 * the same code would do the same again; the message consumer dead-letters it at once.
 */
export function assertOutsideTransaction(call: string): void {
  const open = scope.getStore();
  if (!open) return;
  throw new AppError({
    code: CALL_IN_TRANSACTION,
    kind: 'internal',
    retryable: false,
    message:
      `programming error: ${call} was started inside a database transaction (open for ` +
      `${Date.now() - open.openedAt} ms). Claim, commit, then call, then record the outcome in a ` +
      'new transaction (callOutside, or a consumer with callsOut; see docs/external-calls.md)',
  });
}
