import type { Pool, Transaction } from '../db/database.ts';

/**
 * Claims `subject` for a call by `by` until `leaseMs` from now, in the caller's transaction; false
 * when another holds a claim that has not expired. A concurrent claimer waits for this transaction
 * and then sees the claim. An expired claim (its holder died or overran) is taken over.
 */
export async function claimCall(
  transaction: Transaction,
  subject: string,
  by: string,
  leaseMs: number,
): Promise<boolean> {
  const { rowCount } = await transaction.query(
    `INSERT INTO mercato_calls (subject, call_by, call_until)
     VALUES ($1, $2, clock_timestamp() + $3 * interval '1 millisecond')
     ON CONFLICT (subject) DO UPDATE
        SET call_by = EXCLUDED.call_by, call_until = EXCLUDED.call_until, claimed_at = clock_timestamp()
      WHERE mercato_calls.call_until <= clock_timestamp()`,
    [subject, by, leaseMs],
  );
  return rowCount === 1;
}

/**
 * Ends `by`'s claim on `subject`; false when it is no longer `by`'s (it expired and another took it
 * over, and may be recording its own outcome): the caller is fenced out and must record nothing.
 * Ownership, not the clock, decides: a claim past its time that nobody took over is still its own.
 */
export async function releaseCall(client: Transaction | Pool, subject: string, by: string): Promise<boolean> {
  const { rowCount } = await client.query('DELETE FROM mercato_calls WHERE subject = $1 AND call_by = $2', [
    subject,
    by,
  ]);
  return rowCount === 1;
}

/** Whether a call about `subject` is under way: claimed, and the claim has not expired. */
export async function callUnderWay(transaction: Transaction, subject: string): Promise<boolean> {
  const { rowCount } = await transaction.query(
    'SELECT 1 FROM mercato_calls WHERE subject = $1 AND call_until > clock_timestamp()',
    [subject],
  );
  return rowCount === 1;
}
