import { defineCommand, MessageRegistry } from '@mercato/contracts';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { createPool, inTransaction, type Pool, type Transaction } from '../src/db/database.ts';
import { migrate } from '../src/db/migrate.ts';
import { createLogger } from '../src/logging/create-logger.ts';
import { MESSAGING_MIGRATIONS_TABLE, messagingMigrations } from '../src/messaging/migrations-path.ts';
import { Outbox } from '../src/messaging/outbox.ts';
import { defineSaga } from '../src/saga/saga-definition.ts';
import { listSagas } from '../src/saga/saga-list.ts';
import {
  SAGA_MIGRATIONS_TABLE,
  type SagaChange,
  SagaRunner,
  sagaMigrations,
} from '../src/saga/saga-runner.ts';
import { createTestDatabase, probePostgres, suiteTitle } from '../src/testing/infra.ts';

const postgres = await probePostgres();
const logger = createLogger({ service: 'saga-runner-test', level: 'silent' });

const sagaPart = z.object({
  saga_id: z.string(),
  request_id: z.string(),
  idempotency_key: z.string(),
  reply_to: z.string(),
});
const reserve = defineCommand({ type: 'test.reserve', version: '1.0', schema: z.object({ saga: sagaPart }) });
const release = defineCommand({ type: 'test.release', version: '1.0', schema: z.object({ saga: sagaPart }) });
const charge = defineCommand({ type: 'test.charge', version: '1.0', schema: z.object({ saga: sagaPart }) });
const refund = defineCommand({ type: 'test.refund', version: '1.0', schema: z.object({ saga: sagaPart }) });
const restock = defineCommand({ type: 'test.restock', version: '1.0', schema: z.object({ saga: sagaPart }) });
const commands = [reserve, release, charge, refund, restock];

interface Data {
  orderId: string;
}

const definition = defineSaga<Data>('test-order', { maxCompensationAttempts: 2, resends: 0 })
  .step('reserve')
  .invoke(() => ({ destination: 'stock.commands', type: reserve.type, payload: {} }))
  .withCompensation(() => ({ destination: 'stock.commands', type: release.type, payload: {} }))
  .timeout(60_000)
  .step('charge')
  .invoke(() => ({ destination: 'money.commands', type: charge.type, payload: {} }))
  .withCompensation(() => ({ destination: 'money.commands', type: refund.type, payload: {} }))
  .timeout(1_000)
  .build();

/** A cancellation's shape: hold (undone by a release), refund as the pivot, then restock, retried forward. */
const cancellation = defineSaga<Data>('test-cancel', { resends: 1, maxRetryIntervalMs: 4_000 })
  .step('hold')
  .invoke(() => ({ destination: 'stock.commands', type: reserve.type, payload: {} }))
  .withCompensation(() => ({ destination: 'stock.commands', type: release.type, payload: {} }))
  .timeout(1_000)
  .step('refund')
  .invoke(() => ({ destination: 'money.commands', type: refund.type, payload: {} }))
  .pivot()
  .timeout(1_000)
  .step('restock')
  .invoke(() => ({ destination: 'stock.commands', type: restock.type, payload: {} }))
  .timeout(1_000)
  .build();

describe.skipIf(!postgres.available)(suiteTitle('the saga runner on PostgreSQL', postgres), () => {
  let pool: Pool;
  let drop: () => Promise<void>;
  let clock = Date.parse('2026-11-28T10:00:00Z');
  const registry = new Registry();
  /** A runner as a (re)started orchestrator process would build it: nothing carried over in memory. */
  const newRunner = (
    saga = definition,
    afterTransition?: (transaction: unknown, change: SagaChange<Data>) => Promise<void>,
  ) =>
    new SagaRunner<Data>({
      definition: saga,
      pool,
      outbox: new Outbox(new MessageRegistry(commands)),
      commands,
      source: 'test',
      replyTo: 'test.replies',
      logger,
      registry,
      now: () => clock,
      ...(afterTransition ? { afterTransition } : {}),
    });
  const sent = async (sagaId: string) => {
    const { rows } = await pool.query<{
      destination: string;
      envelope: { event_type: string; data: { saga: { request_id: string } } };
    }>(
      `SELECT destination, envelope FROM mercato_outbox WHERE envelope->'data'->'saga'->>'saga_id' = $1 ORDER BY position`,
      [sagaId],
    );
    return rows.map((row) => ({
      type: row.envelope.event_type,
      requestId: row.envelope.data.saga.request_id,
    }));
  };

  beforeAll(async () => {
    const database = await createTestDatabase('saga_runner');
    drop = database.drop;
    pool = createPool({ url: database.url, max: 4, applicationName: 'test' }, logger);
    await migrate(pool, messagingMigrations, logger, MESSAGING_MIGRATIONS_TABLE);
    await migrate(pool, sagaMigrations, logger, SAGA_MIGRATIONS_TABLE);
  });
  afterAll(async () => {
    await pool.end();
    await drop();
  });

  it('stores the state and sends the first command in the caller’s transaction, or neither', async () => {
    const runner = newRunner();
    await expect(
      inTransaction(pool, async (transaction) => {
        await runner.begin(transaction, 'saga-rolled-back', { orderId: 'o0' }, 'corr');
        throw new Error('the order insert failed');
      }),
    ).rejects.toThrow('the order insert failed');
    expect(await runner.get('saga-rolled-back')).toBeUndefined();
    expect(await sent('saga-rolled-back')).toEqual([]);

    await inTransaction(pool, (transaction) =>
      runner.begin(transaction, 'saga-1', { orderId: 'o1' }, 'corr'),
    );
    expect(await sent('saga-1')).toEqual([{ type: 'test.reserve', requestId: 'saga-1:0:invoke:1' }]);
    expect((await runner.get('saga-1'))?.waitingOn).toBe('reserve');
    // Starting it again (a repeated or concurrent start) sends nothing more.
    const again = await inTransaction(pool, (transaction) =>
      newRunner().begin(transaction, 'saga-1', { orderId: 'o1' }, 'corr'),
    );
    expect(again.pending?.requestId).toBe('saga-1:0:invoke:1');
    expect(await sent('saga-1')).toHaveLength(1);
  });

  it('writes a reply’s new saga state in the statement that appends its commands: the lock and one more', async () => {
    const runner = newRunner();
    await inTransaction(pool, (transaction) =>
      runner.begin(transaction, 'saga-lean', { orderId: 'o-lean' }, 'corr'),
    );
    const statements: string[] = [];
    await inTransaction(pool, (transaction) => {
      const query = transaction.query.bind(transaction) as (...args: unknown[]) => unknown;
      (transaction as unknown as { query: (...args: unknown[]) => unknown }).query = (...args) => {
        const text = typeof args[0] === 'string' ? args[0] : '';
        statements.push(
          text.includes('FOR UPDATE')
            ? 'lock'
            : text.includes('saga_stored') && text.includes('mercato_outbox')
              ? 'saga state, its log row and its commands'
              : text.trim().slice(0, 40),
        );
        return query(...args);
      };
      return runner.handleReply(transaction, {
        sagaId: 'saga-lean',
        requestId: 'saga-lean:0:invoke:1',
        success: true,
      });
    });
    expect(statements.filter((statement) => statement !== 'COMMIT')).toEqual([
      'lock',
      'saga state, its log row and its commands',
    ]);
    expect((await runner.get('saga-lean'))?.waitingOn).toBe('charge');
    expect(await sent('saga-lean')).toEqual([
      { type: 'test.reserve', requestId: 'saga-lean:0:invoke:1' },
      { type: 'test.charge', requestId: 'saga-lean:1:invoke:1' },
    ]);
    expect((await runner.history('saga-lean')).map((entry) => [entry.input, entry.status])).toEqual([
      ['start', 'running'],
      ['reply', 'running'],
    ]);
    // Done, so that no deadline of it is left for the timer tests below.
    await inTransaction(pool, (transaction) =>
      runner.handleReply(transaction, {
        sagaId: 'saga-lean',
        requestId: 'saga-lean:1:invoke:1',
        success: true,
      }),
    );
  });

  it('lets afterTransition take the saga’s write with the commands, or leave it to the runner', async () => {
    const outbox = new Outbox(new MessageRegistry(commands));
    const both = newRunner(definition, async (transaction, change) => {
      await outbox.append(transaction as Transaction, change.takeCommands(), change.takeSagaWrite());
    });
    const commandsOnly = newRunner(definition, async (transaction, change) => {
      await outbox.append(transaction as Transaction, change.takeCommands());
    });
    for (const [runner, sagaId] of [
      [both, 'saga-both'],
      [commandsOnly, 'saga-commands-only'],
    ] as const) {
      await inTransaction(pool, (transaction) =>
        runner.begin(transaction, sagaId, { orderId: sagaId }, 'corr'),
      );
      await inTransaction(pool, (transaction) =>
        runner.handleReply(transaction, { sagaId, requestId: `${sagaId}:0:invoke:1`, success: true }),
      );
      expect((await runner.get(sagaId))?.waitingOn).toBe('charge');
      expect((await sent(sagaId)).map((command) => command.type)).toEqual(['test.reserve', 'test.charge']);
      expect(await runner.history(sagaId)).toHaveLength(2);
      await inTransaction(pool, (transaction) =>
        runner.handleReply(transaction, { sagaId, requestId: `${sagaId}:1:invoke:1`, success: true }),
      );
      expect((await runner.get(sagaId))?.state.status).toBe('completed');
    }
  });

  it('lets afterTransition take the commands to send with its own messages: the runner then sends none', async () => {
    const outbox = new Outbox(new MessageRegistry(commands));
    const taking = newRunner(definition, async (transaction, change) => {
      await outbox.append(transaction as Transaction, change.takeCommands());
    });
    await inTransaction(pool, (transaction) =>
      taking.begin(transaction, 'saga-taken', { orderId: 'o-taken' }, 'corr'),
    );
    await inTransaction(pool, (transaction) =>
      taking.handleReply(transaction, {
        sagaId: 'saga-taken',
        requestId: 'saga-taken:0:invoke:1',
        success: true,
      }),
    );
    await inTransaction(pool, (transaction) =>
      taking.handleReply(transaction, {
        sagaId: 'saga-taken',
        requestId: 'saga-taken:1:invoke:1',
        success: true,
      }),
    );
    expect((await taking.get('saga-taken'))?.state.status).toBe('completed');
    // Each command once: written by the taker, not a second time by the runner.
    expect(await sent('saga-taken')).toEqual([
      { type: 'test.reserve', requestId: 'saga-taken:0:invoke:1' },
      { type: 'test.charge', requestId: 'saga-taken:1:invoke:1' },
    ]);
    const dropping = newRunner(definition, async (_transaction, change) => {
      change.takeCommands();
    });
    await inTransaction(pool, (transaction) =>
      dropping.begin(transaction, 'saga-dropped', { orderId: 'o-dropped' }, 'corr'),
    );
    expect(await sent('saga-dropped')).toEqual([]);
    await dropping.abort('saga-dropped', 'test over');
  });

  it('applies a reply once, records a duplicate as ignored, and times a step out after a restart', async () => {
    const first = newRunner();
    await inTransaction(pool, (transaction) => first.begin(transaction, 'saga-2', { orderId: 'o2' }, 'corr'));
    const reply = { sagaId: 'saga-2', requestId: 'saga-2:0:invoke:1', success: true };
    expect(await inTransaction(pool, (transaction) => first.handleReply(transaction, reply))).toBe('applied');
    expect(await inTransaction(pool, (transaction) => first.handleReply(transaction, reply))).toBe('stale');
    expect((await sent('saga-2')).map((command) => command.type)).toEqual(['test.reserve', 'test.charge']);

    // The orchestrator dies; the charge's 1 s passes; a new process finds the due timer in the table.
    clock += 1_500;
    const restarted = newRunner();
    expect(await restarted.fireDueTimeouts()).toBe(1);
    expect(await restarted.fireDueTimeouts()).toBe(0);
    const saga = await restarted.get('saga-2');
    expect(saga?.state).toMatchObject({ status: 'compensating', reason: 'charge timed out' });
    // The timed-out charge may have happened: refunded first, then the reservation released.
    expect((await sent('saga-2')).map((command) => command.type)).toEqual([
      'test.reserve',
      'test.charge',
      'test.refund',
    ]);
    // The charge's late success is recorded and not applied.
    const late = { sagaId: 'saga-2', requestId: 'saga-2:1:invoke:1', success: true };
    expect(await inTransaction(pool, (transaction) => restarted.handleReply(transaction, late))).toBe(
      'stale',
    );
    const history = await restarted.history('saga-2');
    expect(history.map((entry) => `${entry.input}:${entry.outcome}`)).toEqual([
      'start:applied',
      'reply:applied',
      'reply:ignored: stale',
      'timeout:applied',
      'reply:ignored: stale',
    ]);
  });

  it('leaves a saga FAILED when a compensation keeps failing, counts it and says why', async () => {
    const runner = newRunner();
    await inTransaction(pool, (transaction) =>
      runner.begin(transaction, 'saga-3', { orderId: 'o3' }, 'corr'),
    );
    const answer = (requestId: string, success: boolean) =>
      inTransaction(pool, (transaction) =>
        runner.handleReply(transaction, { sagaId: 'saga-3', requestId, success, reason: 'provider refused' }),
      );
    await answer('saga-3:0:invoke:1', true);
    await answer('saga-3:1:invoke:1', false); // charge declined: release the reservation
    await answer('saga-3:0:compensate:1', false);
    await answer('saga-3:0:compensate:2', false);
    const saga = await runner.get('saga-3');
    expect(saga?.state.status).toBe('failed');
    expect(saga?.state.reason).toMatch(/could not undo reserve after 2 attempts/);
    expect(await registry.getSingleMetricAsString('saga_failed_total')).toMatch(
      /saga_failed_total\{saga="test-order"\} 1/,
    );
    const { rows } = await pool.query('SELECT deadline FROM saga_instances WHERE saga_id = $1', ['saga-3']);
    expect(rows[0]?.deadline).toBeNull();
  });

  it('fires each due timeout in its own transaction: a saga whose transition throws holds no other’s, and is counted and shown', async () => {
    let poisoned = true;
    // A saga type of its own: the other tests' sagas in this database are due too.
    const runner = newRunner({ ...definition, name: 'test-timers' }, async (_transaction, change) => {
      if (poisoned && change.after.sagaId === 'saga-poison' && change.input.type === 'timeout')
        throw new Error('the order could not be loaded');
    });
    await inTransaction(pool, async (transaction) => {
      await runner.begin(transaction, 'saga-poison', { orderId: 'p' }, 'corr');
      await runner.begin(transaction, 'saga-healthy', { orderId: 'h' }, 'corr');
    });
    clock += 61_000; // both reservations time out
    expect(await runner.fireDueTimeouts()).toBe(2);
    expect((await runner.get('saga-healthy'))?.state).toMatchObject({ status: 'compensating' });
    const poison = await runner.get('saga-poison');
    expect(poison).toMatchObject({
      state: { status: 'running' },
      timerFailures: 1,
      timerError: 'the order could not be loaded',
    });
    expect(await registry.getSingleMetricAsString('saga_timer_failures_total')).toMatch(
      /saga_timer_failures_total\{saga="test-timers"\} 1/,
    );
    expect((await listSagas(pool, { timerFailing: true, limit: 10 })).map((saga) => saga.sagaId)).toEqual([
      'saga-poison',
    ]);
    expect(await registry.getSingleMetricAsString('saga_timers_failing')).toMatch(
      /saga_timers_failing\{saga="test-timers"\} 1/,
    );
    // Its timer is pushed back (1 s, doubling), not retried on every tick.
    expect(await runner.fireDueTimeouts()).toBe(0);
    clock += 1_000;
    expect(await runner.fireDueTimeouts()).toBe(1);
    expect((await runner.get('saga-poison'))?.timerFailures).toBe(2);
    clock += 1_000;
    expect(await runner.fireDueTimeouts()).toBe(0);
    // Once the cause is gone, it moves on and the count is cleared.
    poisoned = false;
    clock += 1_000;
    expect(await runner.fireDueTimeouts()).toBe(1);
    expect(await runner.get('saga-poison')).toMatchObject({
      state: { status: 'compensating', reason: 'reserve timed out' },
      timerFailures: 0,
      timerError: null,
    });
  });

  it('resends a step that timed out with the same idempotency key, and keeps retrying a pivot forward: stuck, listed with why, counted, then done', async () => {
    const runner = newRunner(cancellation);
    const answer = (requestId: string, success = true) =>
      inTransaction(pool, (transaction) =>
        runner.handleReply(transaction, { sagaId: 'cancel-1', requestId, success, reason: 'provider down' }),
      );
    await inTransaction(pool, (transaction) =>
      runner.begin(transaction, 'cancel-1', { orderId: 'c1' }, 'corr'),
    );
    await answer('cancel-1:0:invoke:1'); // held
    for (let round = 0; round < 4; round += 1) {
      clock = Number((await runner.get('cancel-1'))?.state.pending?.deadline);
      expect(await runner.fireDueTimeouts()).toBe(1);
    }
    const saga = await runner.get('cancel-1');
    expect(saga?.state).toMatchObject({
      status: 'stuck',
      stuck: { step: 'refund', attempts: 4, why: 'refund timed out (4 attempts)' },
    });
    // The refund went out five times, one key; the hold was never released.
    const refunds = await sent('cancel-1');
    expect(refunds.map((command) => command.type)).toEqual(['test.reserve', ...Array(5).fill('test.refund')]);
    const { rows } = await pool.query<{ key: string }>(
      `SELECT DISTINCT envelope->'data'->'saga'->>'idempotency_key' AS key FROM mercato_outbox
        WHERE envelope->'data'->'saga'->>'saga_id' = 'cancel-1' AND envelope->>'event_type' = 'test.refund'`,
    );
    expect(rows.map((row) => row.key)).toEqual(['cancel-1:1:invoke']);
    const stuck = await listSagas(pool, { status: 'stuck', limit: 10 });
    expect(stuck).toEqual([
      expect.objectContaining({
        sagaId: 'cancel-1',
        type: 'test-cancel',
        why: 'refund timed out (4 attempts)',
      }),
    ]);
    expect(await registry.getSingleMetricAsString('saga_step_stuck')).toMatch(
      /saga_step_stuck\{saga="test-cancel",step="refund"\} 1/,
    );
    expect(await registry.getSingleMetricAsString('saga_step_resends_total')).toMatch(
      /saga_step_resends_total\{saga="test-cancel",step="refund"\} 4/,
    );
    // An operator who fixed the cause need not wait out the backoff.
    expect(await runner.retryNow('cancel-1')).toBe(true);
    expect(await runner.fireDueTimeouts()).toBe(1);
    // The first attempt's success (the provider was slow, not down) moves it on.
    await answer('cancel-1:1:invoke:1');
    expect((await runner.get('cancel-1'))?.state).toMatchObject({ status: 'running', stuck: null });
    expect(await runner.retryNow('cancel-1')).toBe(false);
    await answer('cancel-1:2:invoke:1');
    expect((await runner.get('cancel-1'))?.state.status).toBe('completed');
    expect(await registry.getSingleMetricAsString('saga_step_stuck')).not.toMatch(/step="refund"\} 1/);
    expect((await sent('cancel-1')).map((command) => command.type)).not.toContain('test.release');
  });
});
