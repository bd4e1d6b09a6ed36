import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CALL_FENCED_OUT, CALL_IN_PROGRESS, callOutside, type Intent } from '../src/calls/call-outside.ts';
import { createPool, inTransaction, type Pool, type Transaction } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { insideTransaction } from '../src/db/transaction-scope.ts';
import { createLogger } from '../src/logging/create-logger.ts';
import { handleCallingOutOnce } from '../src/messaging/calls-out-handler.ts';
import { MESSAGING_MIGRATIONS_TABLE, messagingMigrations } from '../src/messaging/index.ts';
import { event } from '../src/messaging/message-bus.contract.ts';
import { createTestDatabase, probePostgres, suiteTitle } from '../src/testing/infra.ts';
import { openTransactionsIn } from '../src/testing/open-transactions.ts';
import { waitFor } from '../src/testing/wait-for.ts';

const postgres = await probePostgres();
const logger = createLogger({ service: 'call-outside-test', level: 'silent' });

/** Another process with idempotency keys: a key's first call does the work, a repeat replays it. */
function provider() {
  const calls: { key: string; insideTransaction: boolean }[] = [];
  const effects = new Map<string, string>();
  let gate: Promise<void> = Promise.resolve();
  let open: () => void = () => undefined;
  return {
    calls,
    effects,
    /** Calls wait until `release`. */
    hold() {
      gate = new Promise((resolve) => (open = resolve));
    },
    release: () => open(),
    async charge(key: string): Promise<string> {
      calls.push({ key, insideTransaction: insideTransaction() });
      await gate;
      const done = effects.get(key) ?? `ch_${effects.size + 1}`;
      effects.set(key, done);
      return done;
    },
  };
}

describe.skipIf(!postgres.available)(suiteTitle('claim, call, record (callOutside)', postgres), () => {
  let pool: Pool;
  let url = '';
  let drop: () => Promise<void> = async () => undefined;
  beforeAll(async () => {
    const database = await createTestDatabase('callout');
    ({ url, drop } = database);
    pool = createPool({ url, max: 6, applicationName: 'call-outside-test' }, logger);
    await migrate(pool, messagingMigrations, logger, MESSAGING_MIGRATIONS_TABLE);
    await pool.query(
      `CREATE TABLE charges (subject text PRIMARY KEY, status text NOT NULL, charge_id text, records int NOT NULL DEFAULT 0)`,
    );
  });
  afterAll(async () => {
    await pool?.end();
    await drop();
  });

  /** The usual shape: lock or create the row; if not charged yet, charge with `key`, then record. */
  const chargeIntent =
    (p: ReturnType<typeof provider>, subject: string, key: string, hang?: Promise<void>) =>
    async (transaction: Transaction): Promise<Intent<string>> => {
      await transaction.query(
        `INSERT INTO charges (subject, status) VALUES ($1, 'charging') ON CONFLICT DO NOTHING`,
        [subject],
      );
      const { rows } = await transaction.query<{ status: string; charge_id: string | null }>(
        'SELECT status, charge_id FROM charges WHERE subject = $1 FOR UPDATE',
        [subject],
      );
      if (rows[0]?.status === 'charged') return { settled: rows[0].charge_id ?? '' };
      return {
        call: async () => {
          const charged = await p.charge(key);
          if (hang) await hang;
          return async (outcome) => {
            await outcome.query(
              `UPDATE charges SET status = 'charged', charge_id = $2, records = records + 1 WHERE subject = $1`,
              [subject, charged],
            );
            return charged;
          };
        },
      };
    };
  const row = async (subject: string) =>
    (await pool.query('SELECT status, charge_id, records FROM charges WHERE subject = $1', [subject]))
      .rows[0];
  const claims = async (subject: string) =>
    (await pool.query('SELECT call_by FROM mercato_calls WHERE subject = $1', [subject])).rows;

  it('calls with no transaction open: while the call is pending the claim is committed and nothing is held', async () => {
    const p = provider();
    p.hold();
    const running = callOutside(pool, { subject: 's1', leaseMs: 5_000, intent: chargeIntent(p, 's1', 'k1') });
    await waitFor('the call to start', () => p.calls.length === 1);
    expect(p.calls[0]?.insideTransaction).toBe(false);
    // Long enough for a transaction held across the call to count as open for more than 250 ms.
    await sleep(400);
    expect(await openTransactionsIn(url)).toEqual([]);
    // Another session sees the intent: the row and the claim are committed.
    expect(await row('s1')).toMatchObject({ status: 'charging' });
    expect(await claims('s1')).toHaveLength(1);
    p.release();
    expect(await running).toBe('ch_1');
    expect(await row('s1')).toMatchObject({ status: 'charged', records: 1 });
    expect(await claims('s1')).toEqual([]);
    // Settled at once the next time: no call.
    expect(
      await callOutside(pool, { subject: 's1', leaseMs: 5_000, intent: chargeIntent(p, 's1', 'k1') }),
    ).toBe('ch_1');
    expect(p.calls).toHaveLength(1);
  });

  it('turns away a second attempt about the same subject while the first calls: it calls nothing', async () => {
    const p = provider();
    p.hold();
    const first = callOutside(pool, { subject: 's2', leaseMs: 5_000, intent: chargeIntent(p, 's2', 'k2') });
    await waitFor('the first call to start', () => p.calls.length === 1);
    const second = await callOutside(pool, {
      subject: 's2',
      leaseMs: 5_000,
      intent: chargeIntent(p, 's2', 'k2'),
    }).catch((error: unknown) => error);
    expect(second).toMatchObject({ code: CALL_IN_PROGRESS, retryable: true });
    expect(p.calls).toHaveLength(1);
    p.release();
    await first;
    expect(await row('s2')).toMatchObject({ status: 'charged', records: 1 });
  });

  it('after a crash between the call and its outcome, the next attempt takes the expired claim over and repeats the call with the same key: one charge, recorded once', async () => {
    const p = provider();
    // The first attempt calls and then never records, as a process killed at that moment.
    const dead = callOutside(pool, {
      subject: 's3',
      leaseMs: 300,
      intent: chargeIntent(p, 's3', 'k3', new Promise(() => undefined)),
    });
    void dead;
    await waitFor('the first call', () => p.calls.length === 1);
    expect(await row('s3')).toMatchObject({ status: 'charging' });
    // Before the lease ends, a repeat is turned away; after it, the repeat calls again.
    await expect(
      callOutside(pool, { subject: 's3', leaseMs: 300, intent: chargeIntent(p, 's3', 'k3') }),
    ).rejects.toMatchObject({ code: CALL_IN_PROGRESS });
    await sleep(350);
    expect(
      await callOutside(pool, { subject: 's3', leaseMs: 300, intent: chargeIntent(p, 's3', 'k3') }),
    ).toBe('ch_1');
    expect(p.calls.map((call) => call.key)).toEqual(['k3', 'k3']);
    expect(p.effects.size).toBe(1);
    expect(await row('s3')).toMatchObject({ status: 'charged', records: 1 });
  });

  it('fences out an attempt that outlived its claim: the one that took it over records, the late one records nothing', async () => {
    const p = provider();
    let wake: () => void = () => undefined;
    const late = callOutside(pool, {
      subject: 's4',
      leaseMs: 200,
      intent: chargeIntent(p, 's4', 'k4', new Promise<void>((resolve) => (wake = resolve))),
    });
    await waitFor('the slow call', () => p.calls.length === 1);
    await sleep(250);
    expect(
      await callOutside(pool, { subject: 's4', leaseMs: 5_000, intent: chargeIntent(p, 's4', 'k4') }),
    ).toBe('ch_1');
    wake();
    await expect(late).rejects.toMatchObject({ code: CALL_FENCED_OUT });
    expect(await row('s4')).toMatchObject({ status: 'charged', records: 1 });
  });

  it('lets the next attempt claim at once when a call fails (nothing to wait out)', async () => {
    let failing = true;
    const intent = async (): Promise<Intent<string>> => ({
      call: async () => {
        if (failing) throw new Error('provider down');
        return async () => 'ok';
      },
    });
    await expect(callOutside(pool, { subject: 's5', leaseMs: 60_000, intent })).rejects.toThrow(
      'provider down',
    );
    expect(await claims('s5')).toEqual([]);
    failing = false;
    expect(await callOutside(pool, { subject: 's5', leaseMs: 60_000, intent })).toBe('ok');
  });

  it('records a message’s outcome once: a redelivery during the call waits, one after it is a duplicate', async () => {
    const p = provider();
    p.hold();
    const message = event('k6', 6);
    const handler = {
      leaseMs: 5_000,
      subject: () => 's6',
      intent: async (_: unknown, transaction: Transaction): Promise<Intent<void>> => {
        const intent = await chargeIntent(p, 's6', `msg:${message.event_id}`)(transaction);
        if ('settled' in intent) return { settled: undefined };
        return {
          call: async (signal) => {
            const outcome = await intent.call(signal);
            return async (recording) => {
              await outcome(recording);
            };
          },
        };
      },
    };
    const first = handleCallingOutOnce(pool, 'g', message, handler);
    await waitFor('the call', () => p.calls.length === 1);
    await expect(handleCallingOutOnce(pool, 'g', message, handler)).rejects.toMatchObject({
      code: CALL_IN_PROGRESS,
    });
    p.release();
    expect(await first).toBe('processed');
    expect(await handleCallingOutOnce(pool, 'g', message, handler)).toBe('duplicate');
    expect(p.calls).toHaveLength(1);
    expect(await row('s6')).toMatchObject({ records: 1 });
  });

  it('marks the work of inTransaction, so a call from there is refused', async () => {
    expect(await inTransaction(pool, async () => insideTransaction())).toBe(true);
    expect(insideTransaction()).toBe(false);
  });
});
