import { Code } from '@connectrpc/connect';
import type { Pool } from '@mercato/chassis';
import {
  busChannel,
  connectTestBus,
  grpcFailure,
  probePostgres,
  startTestService,
  suiteTitle,
  type TestBus,
  type TestService,
  waitFor,
  waitForHandled,
} from '@mercato/chassis/testing';
import { legacyStockChanged } from '@mercato/contracts';
import { InventoryService } from '@mercato/contracts/grpc/inventory';
import { legacyTransaction, seededMonolith, streamSource } from '@mercato/contracts/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { InventoryConfig } from '../src/config.ts';
import { inventoryDefinition } from '../src/inventory.service.ts';

const postgres = await probePostgres();
const ADMIN_TOKEN = 'inventory-legacy-admin-token-0123456789';
const monolith = seededMonolith(0);
const at = streamSource;
const product = (id: number) => monolith.products[id - 1] as (typeof monolith.products)[number];
const shelf = (id: number, quantity: number) => ({
  product_id: String(id),
  quantity,
  updated_at: '2026-11-03T08:00:00.000Z',
});

/**
 * inventory following the monolith's shelf (strangler fig): a product's SKU and its stock arrive on
 * two topics in either order and meet; reads show the shelf as the warehouse `legacy`, open streams
 * see it move, and nothing reserves from it while the monolith sells it.
 */
describe.skipIf(!postgres.available)(suiteTitle('inventory follows the monolith’s stock', postgres), () => {
  let running: TestService<InventoryConfig>;
  let store: TestBus;
  const client = () => running.client(InventoryService);
  const levelOf = async (sku: string) => (await client().getStock({ sku })).stock;
  /** inventory's own admin API, as the platform's operator. */
  const admin = (method: string, path: string, body?: unknown) =>
    fetch(`${running.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${ADMIN_TOKEN}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });

  beforeAll(async () => {
    running = await startTestService(inventoryDefinition, {
      INVENTORY_SEED_DEMO: 'false',
      MERCATO_ADMIN_TOKEN: ADMIN_TOKEN,
    });
    store = connectTestBus(running.messagesUrl);
  });
  afterAll(async () => {
    await store?.close();
    await running?.stop();
  });

  it('shows a product’s stock under its SKU whichever of the two arrives first', async () => {
    const stockFirst = legacyTransaction(at(1), [['stock', 'update', shelf(9, 40)]]);
    await store.bus.publish(stockFirst);
    await waitForHandled(running.service.db as Pool, 'inventory-legacy', [
      stockFirst[0]?.envelope.event_id ?? '',
    ]);
    expect((await grpcFailure(levelOf('LEG-0009')))?.code).toBe(Code.NotFound);

    await store.bus.publish(
      legacyTransaction(at(2), [
        ['products', 'update', product(9)],
        ['products', 'update', product(10)],
        ['stock', 'update', shelf(10, 12)],
      ]),
    );
    await waitFor('both levels', async () => (await grpcFailure(levelOf('LEG-0010'))) === undefined);
    await waitFor(
      'the first product’s SKU',
      async () => (await grpcFailure(levelOf('LEG-0009'))) === undefined,
    );
    expect(await levelOf('LEG-0009')).toMatchObject({
      available: 40,
      reserved: 0,
      warehouses: [{ warehouseId: 'legacy', available: 40, reserved: 0 }],
    });
    expect((await levelOf('LEG-0010'))?.available).toBe(12);
  });

  it('is not marked retiring while the monolith takes orders', async () => {
    const answer = await admin('PUT', '/admin/legacy/retirement', { retired: true });
    expect(answer.status).toBe(409);
    expect(await answer.json()).toMatchObject({ code: 'INVENTORY.ORDERS_NOT_MOVED' });
  });

  it('reserves nothing from the monolith’s shelf', async () => {
    const refused = await grpcFailure(
      client().reserveStock({ reservationId: 'res-legacy', lines: [{ sku: 'LEG-0009', quantity: 1 }] }),
    );
    expect(refused?.metadata.get('mercato-error-code')).toBe('INVENTORY.INSUFFICIENT_STOCK');
    expect((await levelOf('LEG-0009'))?.available).toBe(40);
    // While the monolith's shelf moves here (its last changes still on their way), a reservation short
    // of it waits, retryable, rather than fail: in a moment it is inventory's.
    const db = running.service.db as Pool;
    await db.query("UPDATE legacy_capabilities SET owner = 'moving' WHERE name = 'orders'");
    try {
      const waits = await grpcFailure(
        client().reserveStock({ reservationId: 'res-moving', lines: [{ sku: 'LEG-0009', quantity: 1 }] }),
      );
      expect(waits?.code).toBe(Code.Unavailable);
      expect(waits?.metadata.get('mercato-error-code')).toBe('INVENTORY.STOCK_MOVING');
    } finally {
      await db.query("UPDATE legacy_capabilities SET owner = 'monolith' WHERE name = 'orders'");
    }
    // Nothing recorded: asked again once the shelf is here, the same reservation id is taken.
    const again = await grpcFailure(
      client().reserveStock({ reservationId: 'res-moving', lines: [{ sku: 'LEG-0009', quantity: 1 }] }),
    );
    expect(again?.metadata.get('mercato-error-code')).toBe('INVENTORY.INSUFFICIENT_STOCK');
  });

  it('streams the shelf’s changes and ignores an older one delivered after a newer', async () => {
    const controller = new AbortController();
    const seen: number[] = [];
    const reader = (async () => {
      for await (const message of client().streamStockLevels(
        { skus: ['LEG-0009'] },
        { signal: controller.signal },
      )) {
        seen.push(message.stock?.available ?? -1);
        if (seen.length === 1) {
          const changes = [
            ...legacyTransaction(at(4), [['stock', 'update', shelf(9, 37)]]),
            // Committed before the change above, delivered after it.
            ...legacyTransaction(at(3), [['stock', 'update', shelf(9, 39)]]),
          ];
          for (const change of changes) await store.bus.publish([change]);
        }
        if (seen.length === 2) break;
      }
    })();
    await reader;
    controller.abort();
    expect(seen).toEqual([40, 37]);
    await waitForHandled(running.service.db as Pool, 'inventory-legacy', [
      legacyTransaction(at(3), [['stock', 'update', shelf(9, 39)]])[0]?.envelope.event_id ?? '',
    ]);
    expect((await levelOf('LEG-0009'))?.available).toBe(37);
  });

  it('takes the shelf once the monolith gives new orders up: reserves from it, adds what the monolith puts back', async () => {
    const moved = legacyTransaction(at(10), [
      [
        'capabilities',
        'update',
        { name: 'orders', owner: 'services', changed_at: '2026-11-03T09:00:00.000Z' },
      ],
    ]);
    // A change of the monolith's stock not applied yet when the move arrives: a delivery of one
    // published before, claimable only in 1.5 s. The move waits for it; meanwhile orders are marked
    // moving, on another connection than the move's transaction (that mark once waited forever for
    // the move's own lock on the owner's row, and the move was never applied).
    const db = running.service.db as Pool;
    const owner = async () =>
      (await db.query<{ owner: string }>("SELECT owner FROM legacy_capabilities WHERE name = 'orders'"))
        .rows[0]?.owner;
    const { rows: earlier } = await store.messages.query<{ position: string; partition_key: string }>(
      'SELECT position::text AS position, partition_key FROM bus_messages WHERE destination = $1 ORDER BY bus_messages.position DESC LIMIT 1',
      [legacyStockChanged.type],
    );
    expect(earlier).toHaveLength(1);
    await store.messages.query(
      `INSERT INTO bus_deliveries (group_name, position, partition_key, destination, visible_at)
       VALUES ('inventory-legacy', $1, $2, $3, now() + interval '1500 milliseconds')`,
      [earlier[0]?.position, earlier[0]?.partition_key, legacyStockChanged.type],
    );
    // As a publish does (the PostgreSQL bus's channel): the group's members look, and learn when
    // that delivery falls due.
    await store.messages.query("SELECT pg_notify($1, 'inventory-legacy')", [busChannel('inventory-legacy')]);
    await store.bus.publish(moved);
    await waitFor(
      'orders marked moving while the stock lags',
      async () => (await owner()) === 'moving',
      5_000,
    );
    await waitForHandled(db, 'inventory-legacy-owner', [moved[0]?.envelope.event_id ?? '']);
    expect(await owner()).toBe('services');
    // One warehouse, inventory's now: the copy of the shelf as it was at the move.
    expect(await levelOf('LEG-0009')).toMatchObject({
      available: 37,
      warehouses: [{ warehouseId: 'legacy', available: 37, reserved: 0 }],
    });
    const { reservation } = await client().reserveStock({
      reservationId: 'res-after-the-move',
      lines: [{ sku: 'LEG-0009', quantity: 5 }],
    });
    expect(reservation?.allocations).toMatchObject([{ sku: 'LEG-0009', warehouseId: 'legacy', quantity: 5 }]);
    expect(await levelOf('LEG-0009')).toMatchObject({ available: 32, reserved: 5 });

    // The monolith cancels an order it took before: 3 back on its shelf (37 → 40), added here. A
    // change replayed from before the one applied (a copy, under another id), and the monolith's own row replayed change nothing.
    const changes = [
      ...legacyTransaction(at(11), [['stock', 'update', shelf(9, 40)]]),
      ...legacyTransaction({ ...at(2), lsn: '0/2180', txId: 999 }, [['stock', 'update', shelf(10, 99)]]),
      ...legacyTransaction(at(0), [
        [
          'capabilities',
          'snapshot',
          { name: 'orders', owner: 'monolith', changed_at: '2026-11-01T00:00:00.000Z' },
        ],
      ]),
    ];
    for (const change of changes) await store.bus.publish([change]);
    await waitForHandled(
      db,
      'inventory-legacy',
      changes.slice(0, 2).map((change) => change.envelope.event_id),
    );
    await waitForHandled(db, 'inventory-legacy-owner', [changes[2]?.envelope.event_id ?? '']);
    expect(await levelOf('LEG-0009')).toMatchObject({ available: 35, reserved: 5 });
    expect((await levelOf('LEG-0010'))?.available).toBe(12);
    expect(await owner()).toBe('services');
  });

  it('keeps the shelf while the monolith retires: a hand-back refused, until the monolith refused to retire', async () => {
    const marked = await admin('PUT', '/admin/legacy/retirement', { retired: true });
    expect(marked.status).toBe(200);
    const { retired_at: retiredAt } = (await marked.json()) as { retired_at: string };
    expect(Date.parse(retiredAt)).toBeGreaterThan(0);
    // Marked again, the same mark.
    expect(await (await admin('PUT', '/admin/legacy/retirement', { retired: true })).json()).toEqual({
      retired_at: retiredAt,
      for_good: false,
    });
    const refused = await admin('POST', '/admin/legacy/orders/hand-back');
    expect(refused.status).toBe(409);
    expect(await refused.json()).toMatchObject({ code: 'INVENTORY.MONOLITH_RETIRED' });
    expect(await (await admin('GET', '/admin/legacy/orders')).json()).toMatchObject({
      owner: 'services',
      retired_at: retiredAt,
    });
    expect((await admin('PUT', '/admin/legacy/retirement', { retired: 'yes' })).status).toBe(400);
    // The monolith refused to retire (orders unfinished): unmarked, the shelf may go back (next test).
    expect(await (await admin('PUT', '/admin/legacy/retirement', { retired: false })).json()).toEqual({
      retired_at: null,
      for_good: false,
    });
    expect((await admin('PUT', '/admin/legacy/retirement', { retired: false, for_good: true })).status).toBe(
      400,
    );
  });

  it('gives the shelf back: its levels emptied into the monolith’s, stock released later sent after, then the monolith’s shelf followed again', async () => {
    const db = running.service.db as Pool;
    const returned = async () =>
      (
        await store.messages.query<{ data: { hand_back: boolean; lines: unknown[] } }>(
          "SELECT envelope->'data' AS data FROM bus_messages WHERE destination = 'inventory.legacy_shelf_returned' ORDER BY position",
        )
      ).rows.map((row) => row.data);

    const handedBack = await admin('POST', '/admin/legacy/orders/hand-back');
    expect(await handedBack.json()).toEqual({ owner: 'returning' });
    // 35 free here, the copy says the monolith's shelf has 40: 5 sold by the services come off it.
    // LEG-0010 is as the monolith has it: nothing to add.
    await waitFor('the shelf returned', async () => (await returned()).length === 1);
    expect(await returned()).toEqual([
      {
        transfer_id: expect.any(String),
        hand_back: true,
        lines: [{ product_id: '9', sku: 'LEG-0009', quantity: -5 }],
      },
    ]);
    // Shown again as the monolith's shelf, one warehouse; nothing of it is inventory's to reserve.
    expect(await levelOf('LEG-0009')).toMatchObject({
      available: 40,
      warehouses: [{ warehouseId: 'legacy' }],
    });
    expect(
      (
        await grpcFailure(
          client().reserveStock({
            reservationId: 'res-returning',
            lines: [{ sku: 'LEG-0010', quantity: 1 }],
          }),
        )
      )?.metadata.get('mercato-error-code'),
    ).toBe('INVENTORY.INSUFFICIENT_STOCK');
    // Asked again, nothing more is given.
    expect(await (await admin('POST', '/admin/legacy/orders/hand-back')).json()).toEqual({
      owner: 'returning',
    });

    // The services' reservation made before is released: its 5 are the monolith's, sent after.
    await client().releaseStock({ reservationId: 'res-after-the-move' });
    await waitFor('the released stock returned', async () => (await returned()).length === 2);
    expect((await returned())[1]).toEqual({
      transfer_id: expect.any(String),
      hand_back: false,
      lines: [{ product_id: '9', sku: 'LEG-0009', quantity: 5 }],
    });
    const { rows } = await db.query<{ available: number }>(
      "SELECT available FROM stock_levels WHERE sku = 'LEG-0009' AND warehouse_id = 'legacy'",
    );
    expect(rows[0]?.available).toBe(0);

    // The monolith takes orders back (legacy-cdc applied both): inventory follows its shelf again.
    const taken = legacyTransaction(at(12), [
      ['stock', 'update', shelf(9, 40)],
      [
        'capabilities',
        'update',
        { name: 'orders', owner: 'monolith', changed_at: '2026-11-03T10:00:00.000Z' },
      ],
    ]);
    await store.bus.publish(taken);
    await waitForHandled(db, 'inventory-legacy-owner', [taken[1]?.envelope.event_id ?? '']);
    expect(await (await admin('GET', '/admin/legacy/orders')).json()).toMatchObject({ owner: 'monolith' });
    const later = legacyTransaction(at(13), [['stock', 'update', shelf(9, 41)]]);
    await store.bus.publish(later);
    await waitFor('the shelf followed', async () => (await levelOf('LEG-0009'))?.available === 41);
    expect(rows[0]?.available).toBe(0);
  });

  it('keeps the mark of a monolith that did retire: never taken back, the shelf never given back', async () => {
    const db = running.service.db as Pool;
    const moved = legacyTransaction(at(14), [
      [
        'capabilities',
        'update',
        { name: 'orders', owner: 'services', changed_at: '2026-11-04T09:00:00.000Z' },
      ],
    ]);
    await store.bus.publish(moved);
    await waitForHandled(db, 'inventory-legacy-owner', [moved[0]?.envelope.event_id ?? '']);
    expect(await (await admin('PUT', '/admin/legacy/retirement', { retired: true })).json()).toMatchObject({
      for_good: false,
    });
    expect(
      await (await admin('PUT', '/admin/legacy/retirement', { retired: true, for_good: true })).json(),
    ).toMatchObject({ for_good: true });
    const unmark = await admin('PUT', '/admin/legacy/retirement', { retired: false });
    expect(unmark.status).toBe(409);
    expect(await unmark.json()).toMatchObject({ code: 'INVENTORY.MONOLITH_RETIRED' });
    expect((await admin('POST', '/admin/legacy/orders/hand-back')).status).toBe(409);
    expect(await (await admin('GET', '/admin/legacy/orders')).json()).toMatchObject({
      owner: 'services',
      retired_at: expect.any(String),
    });
  });
});
