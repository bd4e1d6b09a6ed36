import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import {
  assertOutsideTransaction,
  CALL_IN_TRANSACTION,
  insideTransaction,
  runInTransactionScope,
} from './transaction-scope.ts';

const refusal = (call: () => void): unknown => {
  try {
    call();
    return undefined;
  } catch (error) {
    return error;
  }
};

describe('the guard against calls inside a transaction', () => {
  it('lets a call start outside any transaction', () => {
    expect(insideTransaction()).toBe(false);
    expect(refusal(() => assertOutsideTransaction('GET /v1/things'))).toBeUndefined();
  });

  it('refuses a call started from a transaction’s work, across awaits and timers, with a programming error', async () => {
    const seen = await runInTransactionScope(async () => {
      const first = refusal(() => assertOutsideTransaction('payment provider POST /v1/payment_intents'));
      await sleep(5);
      const later = await new Promise((resolve) =>
        setTimeout(() => resolve(refusal(() => assertOutsideTransaction('gRPC customer/GetCustomer'))), 1),
      );
      return { first, later, inside: insideTransaction() };
    });
    expect(seen.inside).toBe(true);
    for (const error of [seen.first, seen.later])
      expect(error).toMatchObject({ code: CALL_IN_TRANSACTION, kind: 'internal', retryable: false });
    expect(String((seen.first as Error).message)).toMatch(
      /programming error: payment provider POST \/v1\/payment_intents was started inside a database transaction/,
    );
  });

  it('lets the call start once the transaction’s work has finished, and in work running beside it', async () => {
    let release: () => void = () => undefined;
    const transaction = runInTransactionScope(() => new Promise<void>((resolve) => (release = resolve)));
    // Work that is not the transaction's, running while it is open.
    expect(refusal(() => assertOutsideTransaction('SMTP send'))).toBeUndefined();
    release();
    await transaction;
    expect(insideTransaction()).toBe(false);
    expect(refusal(() => assertOutsideTransaction('SMTP send'))).toBeUndefined();
  });
});
