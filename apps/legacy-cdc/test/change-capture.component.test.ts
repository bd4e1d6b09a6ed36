import { createService, type Service } from '@mercato/chassis';
import {
  connectTestBus,
  probePostgres,
  startTestService,
  suiteTitle,
  type TestBus,
  type TestService,
  testPostgresUrl,
  waitFor,
} from '@mercato/chassis/testing';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { LegacyCdcConfig } from '../src/config.ts';
import { legacyCdcDefinition } from '../src/legacy-cdc.service.ts';
import { prepareSource } from '../src/source-database.ts';
import { type LogicalPostgres, startLogicalPostgres } from './support/logical-postgres.ts';

const postgres = await probePostgres();

/**
 * The seeded monolith with its order history removed before the capture starts (the whole 65,401-row
 * snapshot is taken by the legacy-migration e2e suite and bench/cdc; here 2,000 orders keep every
 * table in the snapshot and the suite in CI's time).
 */
const SEEDED = {
  customers: 5_000,
  products: 200,
  stock: 200,
  orders: 2_000,
  order_lines: 4_001,
  capabilities: 3,
};
const SEEDED_ROWS = Object.values(SEEDED).reduce((sum, count) => sum + count, 0);

interface Published {
  event_type: string;
  event_id: string;
  data: {
    op: string;
    key: Record<string, string>;
    row: Record<string, unknown> | null;
    source: { kind: string; lsn: string; tx_id: number };
  };
}

describe.skipIf(!postgres.available)(suiteTitle('legacy change data capture', postgres), () => {
  let source: LogicalPostgres;
  let legacy: pg.Client;
  let cdc: TestService<LegacyCdcConfig>;
  let store: TestBus;

  const published = async (condition = "envelope->'data'->'source'->>'kind' = 'stream'") => {
    const { rows } = await store.messages.query<{ envelope: Published }>(
      `SELECT envelope FROM bus_messages WHERE destination LIKE 'legacy.%' AND ${condition} ORDER BY position`,
    );
    return rows.map((row) => row.envelope);
  };
  const count = async (condition = 'true') => {
    const { rows } = await store.messages.query<{ n: string }>(
      `SELECT count(*)::text AS n FROM bus_messages WHERE destination LIKE 'legacy.%' AND ${condition}`,
    );
    return Number(rows[0]?.n);
  };

  /** Another process of capture on the same databases (the first one stopped). */
  const startAgain = async (heartbeatMs: number): Promise<Service<LegacyCdcConfig>> => {
    const again = await createService(legacyCdcDefinition, {
      DATABASE_URL: cdc.databaseUrl,
      MESSAGES_DATABASE_URL: cdc.messagesUrl,
      LEGACY_DATABASE_URL: source.legacyUrl,
      LEGACY_CDC_HEARTBEAT_MS: String(heartbeatMs),
      PORT: '0',
      LOG_LEVEL: 'silent',
    });
    await again.start();
    return again;
  };

  beforeAll(async () => {
    source = await startLogicalPostgres();
    legacy = new pg.Client({ connectionString: source.legacyUrl });
    await legacy.connect();
    await legacy.query('DELETE FROM order_lines WHERE order_id > 2000; DELETE FROM orders WHERE id > 2000');
    cdc = await startTestService(legacyCdcDefinition, {
      LEGACY_DATABASE_URL: source.legacyUrl,
      LEGACY_CDC_HEARTBEAT_MS: '200',
    });
    store = connectTestBus(cdc.messagesUrl);
  });
  afterAll(async () => {
    await store?.close();
    await cdc?.stop();
    await legacy?.end();
    await source?.stop();
  });

  it('publishes every row of the monolith once as its initial snapshot, equal to the row', async () => {
    const took = await waitFor(
      'the snapshot on the bus',
      async () => (await count()) >= SEEDED_ROWS,
      90_000,
      200,
    );
    console.log(`snapshot of ${SEEDED_ROWS} rows on the bus in ${took} ms`);
    const { rows } = await store.messages.query<{ destination: string; n: string }>(
      `SELECT destination, count(*)::text AS n FROM bus_messages WHERE destination LIKE 'legacy.%' GROUP BY 1`,
    );
    expect(Object.fromEntries(rows.map((row) => [row.destination, Number(row.n)]))).toEqual({
      'legacy.customer.changed': SEEDED.customers,
      'legacy.product.changed': SEEDED.products,
      'legacy.stock.changed': SEEDED.stock,
      'legacy.order.changed': SEEDED.orders,
      'legacy.order_line.changed': SEEDED.order_lines,
      'legacy.capability.changed': SEEDED.capabilities,
    });
    const [customer] = await published(
      `envelope->'data'->'key'->>'id' = '42' AND destination = 'legacy.customer.changed'`,
    );
    const { rows: stored } = await legacy.query('SELECT * FROM customers WHERE id = 42');
    expect(customer?.data.op).toBe('snapshot');
    expect(customer?.data.row).toEqual({
      ...stored[0],
      id: '42',
      created_at: stored[0].created_at.toISOString(),
      updated_at: stored[0].updated_at.toISOString(),
    });
  });

  it('then publishes each committed change in commit order, a transaction under one LSN', async () => {
    await legacy.query(
      `INSERT INTO customers (email, name, password_hash) VALUES ('new@legacy.example', 'New', 'sha256$s$x')`,
    );
    await legacy.query(`UPDATE customers SET name = 'Renamed', updated_at = now() WHERE id = 7`);
    await legacy.query('BEGIN');
    const { rows } = await legacy.query<{ id: string }>(
      `INSERT INTO orders (customer_id, status, total_cents) VALUES (7, 'placed', 500) RETURNING id`,
    );
    const orderId = String(rows[0]?.id);
    await legacy.query(`INSERT INTO order_lines VALUES ($1, 1, 3, 1, 200), ($1, 2, 4, 1, 300)`, [orderId]);
    await legacy.query('UPDATE stock SET quantity = quantity - 1 WHERE product_id IN (3, 4)');
    await legacy.query('COMMIT');
    await legacy.query(`DELETE FROM order_lines WHERE order_id = $1 AND line_no = 2`, [orderId]);
    // A rolled-back transaction is never sent.
    await legacy.query('BEGIN');
    await legacy.query(`UPDATE customers SET name = 'Never' WHERE id = 8`);
    await legacy.query('ROLLBACK');

    await waitFor(
      'the changes on the bus',
      async () => (await count("envelope->'data'->'source'->>'kind' = 'stream'")) >= 8,
      20_000,
    );
    const changes = await published();
    expect(changes.map((change) => [change.event_type, change.data.op, change.data.key])).toEqual([
      ['legacy.customer.changed', 'insert', { id: '5001' }],
      ['legacy.customer.changed', 'update', { id: '7' }],
      ['legacy.order.changed', 'insert', { id: orderId }],
      ['legacy.order_line.changed', 'insert', { order_id: orderId, line_no: '1' }],
      ['legacy.order_line.changed', 'insert', { order_id: orderId, line_no: '2' }],
      ['legacy.stock.changed', 'update', { product_id: '3' }],
      ['legacy.stock.changed', 'update', { product_id: '4' }],
      ['legacy.order_line.changed', 'delete', { order_id: orderId, line_no: '2' }],
    ]);
    expect(changes[1]?.data.row).toMatchObject({ id: '7', name: 'Renamed' });
    expect(changes[7]?.data.row).toBeNull();
    const order = changes.slice(2, 7);
    expect(new Set(order.map((change) => change.data.source.lsn)).size).toBe(1);
    expect(new Set(order.map((change) => change.data.source.tx_id)).size).toBe(1);
    expect(await count(`envelope->'data'->'row'->>'name' = 'Never'`)).toBe(0);
  });

  it('resumes where it stopped after a restart: what changed meanwhile arrives once, no new snapshot', async () => {
    const before = await count();
    await cdc.service.stop();
    for (let n = 1; n <= 50; n += 1)
      await legacy.query(`UPDATE customers SET address = $2, updated_at = now() WHERE id = $1`, [
        n,
        `moved ${n}`,
      ]);
    const again = await startAgain(200);
    try {
      await waitFor('the changes made while it was down', async () => (await count()) >= before + 50, 20_000);
      await new Promise((resolve) => setTimeout(resolve, 500)); // a second copy would show by now
      expect(await count()).toBe(before + 50);
      expect(await count("envelope->'data'->'source'->>'kind' = 'snapshot'")).toBe(SEEDED_ROWS);
      const moved = await published(`envelope->'data'->'row'->>'address' LIKE 'moved %'`);
      expect(moved.map((change) => change.data.key.id)).toEqual(
        Array.from({ length: 50 }, (_, index) => String(index + 1)),
      );
    } finally {
      await again.stop();
    }
  });

  it('keeps the log it holds bounded while the monolith is idle and the server busy (heartbeats)', async () => {
    const admin = new pg.Client({ connectionString: source.adminUrl });
    await admin.connect();
    const lsnNow = async () =>
      (await admin.query<{ lsn: string }>('SELECT pg_current_wal_lsn()::text AS lsn')).rows[0]?.lsn ?? '';
    const confirmedPast = async (lsn: string) => {
      const { rows } = await admin.query<{ past: boolean }>(
        `SELECT confirmed_flush_lsn >= $1::pg_lsn AS past FROM pg_replication_slots WHERE slot_name = 'mercato_legacy_cdc'`,
        [lsn],
      );
      return rows[0]?.past === true;
    };
    /** Tens of MB of log written by another database of the server; the monolith changes nothing. */
    const writeElsewhere = async (table: string) => {
      const before = await lsnNow();
      await admin.query(
        `CREATE TABLE ${table} AS SELECT n, md5(n::text) AS a, md5((n + 1)::text) AS b FROM generate_series(1, 300000) AS n`,
      );
      const after = await lsnNow();
      const { rows } = await admin.query<{ bytes: string }>('SELECT pg_wal_lsn_diff($1, $2)::text AS bytes', [
        after,
        before,
      ]);
      return { after, mib: Number(rows[0]?.bytes) / 2 ** 20 };
    };
    try {
      // Without heartbeats (one an hour) the slot holds all of it.
      const quiet = await startAgain(3_600_000);
      const held = await writeElsewhere('filler_quiet');
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      const quietPast = await confirmedPast(held.after);
      await quiet.stop();
      expect(quietPast).toBe(false);

      const beating = await startAgain(200);
      try {
        const written = await writeElsewhere('filler');
        const took = await waitFor(
          'the slot to confirm past the busy database',
          () => confirmedPast(written.after),
          10_000,
          20,
        );
        console.log(
          `${written.mib.toFixed(1)} MiB of log written elsewhere; still held 1.5 s later without heartbeats, confirmed ${took} ms later with them`,
        );
        expect(written.mib).toBeGreaterThan(16);
        expect(await count("envelope->'data'->'row' ? 'beat_at'")).toBe(0);
      } finally {
        await beating.stop();
      }
    } finally {
      await admin.end();
    }
  });

  it('says in one line what is wrong with a server it cannot capture', async () => {
    const client = new pg.Client({ connectionString: testPostgresUrl() });
    await client.connect();
    try {
      const { rows } = await client.query<{ wal_level: string }>('SHOW wal_level');
      if (rows[0]?.wal_level === 'logical') return; // the machine's server can be captured
      await expect(prepareSource(client, 'mercato_legacy_cdc')).rejects.toThrow(
        /wal_level=replica; change data capture needs wal_level=logical/,
      );
    } finally {
      await client.end();
    }
    const legacyAsOther = new URL(source.legacyUrl);
    const admin = new pg.Client({ connectionString: source.adminUrl });
    await admin.connect();
    await admin.query(`CREATE ROLE reader LOGIN PASSWORD 'reader'`);
    await admin.end();
    legacyAsOther.username = 'reader';
    legacyAsOther.password = 'reader';
    const reader = new pg.Client({ connectionString: legacyAsOther.toString() });
    await reader.connect();
    await expect(prepareSource(reader, 'mercato_legacy_cdc')).rejects.toThrow(
      /login reader may not replicate/,
    );
    await reader.end();
  });
});
