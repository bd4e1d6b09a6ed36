import { Code } from '@connectrpc/connect';
import { createLogger, createPool, type Pool } from '@mercato/chassis';
import {
  grpcFailure,
  probePostgres,
  startTestService,
  suiteTitle,
  type TestService,
  waitFor,
} from '@mercato/chassis/testing';
import { InventoryService } from '@mercato/contracts/grpc/inventory';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { STOCK_CHANNEL } from '../src/adapters/persistence/stock-channel.ts';
import type { InventoryConfig } from '../src/config.ts';
import { inventoryDefinition } from '../src/inventory.service.ts';

const postgres = await probePostgres();

describe.skipIf(!postgres.available)(suiteTitle('inventory service over gRPC', postgres), () => {
  let running: TestService<InventoryConfig>;
  let db: Pool;
  let messages: Pool;
  const client = () => running.client(InventoryService);

  beforeAll(async () => {
    running = await startTestService(inventoryDefinition);
    const logger = createLogger({ service: 'test', level: 'silent' });
    messages = createPool({ url: running.messagesUrl, max: 1, applicationName: 'test' }, logger);
    db = createPool(
      { url: running.databaseUrl, max: 2, applicationName: 'test' },
      createLogger({ service: 'test', level: 'silent' }),
    );
  });
  afterAll(async () => {
    await db?.end();
    await messages?.end();
    await running?.stop();
  });

  /** Event types on the bus so far (the relay moves them out of the outbox). */
  const publishedTypes = async () =>
    (
      await messages.query<{ type: string }>('SELECT DISTINCT destination AS type FROM bus_messages')
    ).rows.map((row) => row.type);
  const expectPublished = (types: string[]) =>
    waitFor(`${types.join(', ')} on the bus`, async () => {
      const published = await publishedTypes();
      return types.every((type) => published.includes(type));
    });

  it('reports the seeded stock of a SKU per warehouse', async () => {
    const { stock } = await client().getStock({ sku: 'OUT-0001' });
    expect(stock?.warehouses.map((w) => w.warehouseId)).toEqual(['wh-berlin', 'wh-lyon']);
    expect(stock?.available).toBe(stock?.warehouses.reduce((sum, w) => sum + w.available, 0));
  });

  it('reports several SKUs in one call and leaves unknown ones out', async () => {
    const { stocks } = await client().getStockLevels({
      skus: ['OUT-0001', 'NOPE-1', 'KIT-0001', 'OUT-0001'],
    });
    expect(stocks.map((s) => s.sku).sort()).toEqual(['KIT-0001', 'OUT-0001']);
    const single = (await client().getStock({ sku: 'KIT-0001' })).stock;
    expect(stocks.find((s) => s.sku === 'KIT-0001')?.available).toBe(single?.available);
  });

  it('splits a line across warehouses, and a repeated call returns the same reservation', async () => {
    const before = (await client().getStock({ sku: 'KIT-0001' })).stock;
    const quantity = (before?.warehouses[0]?.available ?? 0) + 1;
    const request = { reservationId: 'res-split', lines: [{ sku: 'KIT-0001', quantity }] };
    const { reservation } = await client().reserveStock(request);
    expect(reservation?.status).toBe('active');
    expect(reservation?.allocations).toHaveLength(2);
    expect(reservation?.allocations.reduce((sum, a) => sum + a.quantity, 0)).toBe(quantity);

    const again = await client().reserveStock(request);
    expect(again.reservation?.allocations).toEqual(reservation?.allocations);
    const after = (await client().getStock({ sku: 'KIT-0001' })).stock;
    expect(after?.available).toBe((before?.available ?? 0) - quantity);
    expect(after?.reserved).toBe(quantity);
  });

  it('makes a reserve that waited for another writer of the same id answer with what that writer committed', async () => {
    const before = (await client().getStock({ sku: 'APP-0003' })).stock;
    // Another writer of res-raced (a redelivered command on another instance) holds its lock…
    const writer = await db.connect();
    try {
      await writer.query('BEGIN');
      await writer.query("SELECT pg_advisory_xact_lock(hashtext('res-raced'))");
      const reserving = client().reserveStock({
        reservationId: 'res-raced',
        lines: [{ sku: 'APP-0003', quantity: 2 }],
      });
      await waitFor('the reserve waiting for the lock', async () => {
        const { rows } = await db.query(
          "SELECT 1 FROM pg_locks WHERE locktype = 'advisory' AND NOT granted AND objid = hashtext('res-raced')::oid",
        );
        return rows.length > 0;
      });
      // …and commits its reservation while this reserve waits: the reserve, once it has the lock,
      // reads a snapshot taken after the wait and answers with it, moving no stock of its own.
      await writer.query(
        "INSERT INTO reservations (id, status, expires_at, created_at, updated_at) VALUES ('res-raced', 'active', now() + interval '1 hour', now(), now())",
      );
      await writer.query(
        "INSERT INTO reservation_allocations (reservation_id, sku, warehouse_id, quantity) VALUES ('res-raced', 'APP-0003', 'wh-lyon', 2)",
      );
      await writer.query('COMMIT');
      const { reservation } = await reserving;
      expect(
        reservation?.allocations.map(({ sku, warehouseId, quantity }) => ({ sku, warehouseId, quantity })),
      ).toEqual([{ sku: 'APP-0003', warehouseId: 'wh-lyon', quantity: 2 }]);
      expect((await client().getStock({ sku: 'APP-0003' })).stock?.available).toBe(before?.available);
    } finally {
      writer.release();
    }
  });

  it('reserves nothing when one line is short, and says which', async () => {
    const before = (await client().getStock({ sku: 'APP-0001' })).stock;
    const error = await grpcFailure(
      client().reserveStock({
        reservationId: 'res-short',
        lines: [
          { sku: 'APP-0001', quantity: 1 },
          { sku: 'APP-0002', quantity: 10_000 },
        ],
      }),
    );
    expect(error?.code).toBe(Code.FailedPrecondition);
    expect(error?.metadata.get('mercato-error-code')).toBe('INVENTORY.INSUFFICIENT_STOCK');
    expect((await client().getStock({ sku: 'APP-0001' })).stock?.available).toBe(before?.available);
    await expectPublished(['inventory.reservation_failed']);
  });

  it('releases and commits, and refuses to commit what was released', async () => {
    const lines = [{ sku: 'BOK-0001', quantity: 2 }];
    await client().reserveStock({ reservationId: 'res-release', lines });
    expect((await client().releaseStock({ reservationId: 'res-release' })).reservation?.status).toBe(
      'released',
    );
    const error = await grpcFailure(client().commitReservation({ reservationId: 'res-release' }));
    expect(error?.metadata.get('mercato-error-code')).toBe('INVENTORY.RESERVATION_NOT_ACTIVE');

    await client().reserveStock({ reservationId: 'res-commit', lines });
    const before = (await client().getStock({ sku: 'BOK-0001' })).stock;
    expect((await client().commitReservation({ reservationId: 'res-commit' })).reservation?.status).toBe(
      'committed',
    );
    const after = (await client().getStock({ sku: 'BOK-0001' })).stock;
    expect(after?.reserved).toBe((before?.reserved ?? 0) - 2);
    expect(after?.available).toBe(before?.available);
    await expectPublished(['inventory.reserved', 'inventory.released']);
  });

  it('expires a reservation after its TTL and frees its stock', async () => {
    const before = (await client().getStock({ sku: 'FTW-0001' })).stock?.available ?? 0;
    await client().reserveStock({
      reservationId: 'res-ttl',
      lines: [{ sku: 'FTW-0001', quantity: 1 }],
      ttlSeconds: 1,
    });
    expect((await client().getStock({ sku: 'FTW-0001' })).stock?.available).toBe(before - 1);
    // The sweeper runs every INVENTORY_EXPIRY_INTERVAL_MS (1 s), so the stock is back within ~2 s.
    await waitFor(
      'the expired reservation to free its stock',
      async () => (await client().getStock({ sku: 'FTW-0001' })).stock?.available === before,
      5_000,
    );
    const error = await grpcFailure(client().commitReservation({ reservationId: 'res-ttl' }));
    expect(error?.metadata.get('mercato-error-code')).toBe('INVENTORY.RESERVATION_NOT_ACTIVE');
  });

  it('streams the current level and then every change', async () => {
    const controller = new AbortController();
    const stream = client().streamStockLevels({ skus: ['ELE-0001'] }, { signal: controller.signal });
    const seen: number[] = [];
    const reader = (async () => {
      for await (const message of stream) {
        seen.push(message.stock?.available ?? -1);
        if (seen.length === 1)
          await client().reserveStock({
            reservationId: 'res-stream',
            lines: [{ sku: 'ELE-0001', quantity: 3 }],
          });
        if (seen.length === 2) break;
      }
    })();
    await reader;
    controller.abort();
    expect(seen[1]).toBe((seen[0] ?? 0) - 3);
  });

  it('announces every committed change to stock levels from the table itself, 200 SKUs a notification', async () => {
    const listener = new pg.Client({ connectionString: running.databaseUrl });
    await listener.connect();
    const heard: string[][] = [];
    listener.on('notification', (notification) => heard.push(JSON.parse(notification.payload ?? '[]')));
    try {
      await listener.query(`LISTEN ${STOCK_CHANNEL}`);
      // A statement no code of the service wrote, and a reservation and its release.
      await db.query("UPDATE stock_levels SET low_threshold = low_threshold WHERE sku = 'ELE-0001'");
      await waitFor('the update announced', () => heard.length === 1, 5_000, 10);
      expect(heard).toEqual([['ELE-0001']]);
      await client().reserveStock({
        reservationId: 'res-announced',
        lines: [{ sku: 'APP-0001', quantity: 1 }],
      });
      await client().releaseStock({ reservationId: 'res-announced' });
      await waitFor('the reservation and release announced', () => heard.length === 3, 5_000, 10);
      expect(heard.slice(1)).toEqual([['APP-0001'], ['APP-0001']]);
      // 205 SKUs in one statement: two notifications, in order; a rollback: none.
      await db.query(
        `INSERT INTO stock_levels (sku, warehouse_id, available)
         SELECT 'BULK-' || lpad(i::text, 4, '0'), 'wh-berlin', 1 FROM generate_series(1, 205) i`,
      );
      await waitFor('the insert announced', () => heard.length === 5, 5_000, 10);
      expect(heard.slice(3).map((skus) => [skus.length, skus[0], skus.at(-1)])).toEqual([
        [200, 'BULK-0001', 'BULK-0200'],
        [5, 'BULK-0201', 'BULK-0205'],
      ]);
      const rolledBack = await db.connect();
      try {
        await rolledBack.query('BEGIN');
        await rolledBack.query("UPDATE stock_levels SET available = available + 1 WHERE sku = 'ELE-0001'");
        await rolledBack.query('ROLLBACK');
      } finally {
        rolledBack.release();
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(heard).toHaveLength(5);
    } finally {
      await listener.end();
      await db.query("DELETE FROM stock_levels WHERE sku LIKE 'BULK-%'");
    }
  });

  it('rejects bad requests with INVALID_ARGUMENT and unknown SKUs with NOT_FOUND', async () => {
    const invalid = await grpcFailure(
      client().reserveStock({ reservationId: '', lines: [{ sku: 'X', quantity: -1 }] }),
    );
    expect(invalid?.code).toBe(Code.InvalidArgument);
    expect(invalid?.rawMessage).toMatch(/reservationId/);
    expect((await grpcFailure(client().getStock({ sku: 'NOPE-1' })))?.code).toBe(Code.NotFound);
  });

  it('keeps available >= 0 in the database whatever the code does', async () => {
    await expect(
      db.query("UPDATE stock_levels SET available = available - 100000 WHERE sku = 'OUT-0002'"),
    ).rejects.toThrow(/check constraint/);
  });
});
