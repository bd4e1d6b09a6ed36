import type { Envelope } from '../envelope.ts';
import {
  legacyCapabilityChanged,
  legacyCustomerChanged,
  legacyOrderChanged,
  legacyOrderLineChanged,
  legacyProductChanged,
  legacyStockChanged,
} from '../events/legacy-events.ts';
import type { MessageContract } from '../message-contract.ts';

/**
 * Test data: the monolith's changes as apps/legacy-cdc publishes them, for the services' tests of
 * taking its data over (strangler fig), as a bus publishes them (the chassis's `OutgoingMessage`).
 */
export interface CapturedMessage {
  kind: 'topic';
  destination: string;
  key: string;
  envelope: Envelope;
}

/** Where a change was read, as apps/legacy-cdc says it (`source` of every legacy event). */
export interface CaptureSource {
  kind: 'snapshot' | 'stream';
  lsn: string;
  txId: number;
  committedAt: string;
}

export type Op = 'snapshot' | 'insert' | 'update' | 'delete';

/** Where the initial snapshot was read (the slot's consistent point), for tests. */
export const SNAPSHOT_SOURCE: CaptureSource = {
  kind: 'snapshot',
  lsn: '0/1000',
  txId: 1,
  committedAt: '2026-11-02T08:00:00.000Z',
};

/** The `n`th transaction read from the log after that snapshot: later `n`, later in the log. */
export const streamSource = (n: number): CaptureSource => ({
  kind: 'stream',
  lsn: `0/${(0x2000 + n * 0x100).toString(16).toUpperCase()}`,
  txId: 100 + n,
  committedAt: '2026-11-03T08:00:00.000Z',
});

const tables = {
  customers: { contract: legacyCustomerChanged, key: ['id'], partitionBy: 'id' },
  products: { contract: legacyProductChanged, key: ['id'], partitionBy: 'id' },
  stock: { contract: legacyStockChanged, key: ['product_id'], partitionBy: 'product_id' },
  orders: { contract: legacyOrderChanged, key: ['id'], partitionBy: 'id' },
  order_lines: { contract: legacyOrderLineChanged, key: ['order_id', 'line_no'], partitionBy: 'order_id' },
  capabilities: { contract: legacyCapabilityChanged, key: ['name'], partitionBy: 'name' },
} satisfies Record<string, { contract: MessageContract; key: string[]; partitionBy: string }>;

export type Table = keyof typeof tables;

/**
 * One row change as the change data capture publishes it (apps/legacy-cdc `changeMessage`): its id
 * from its place in the log, keyed by the aggregate, `row` null on a delete (the key columns then
 * in `key`). Rows are given in the events' JSON shape (ids as strings, times as ISO 8601).
 */
export function legacyChange(
  table: Table,
  op: Op,
  row: Record<string, unknown>,
  source: CaptureSource,
  index: number,
): CapturedMessage {
  const { contract, key, partitionBy } = tables[table];
  const envelope: Envelope = {
    event_id: `cdc_${source.kind === 'snapshot' ? 's' : 't'}${source.lsn}:${index}`,
    event_type: contract.type,
    event_version: contract.version,
    timestamp: source.committedAt,
    source: 'legacy-cdc',
    correlation_id: `cdc_${source.txId}`,
    causation_id: null,
    data: {
      op,
      key: Object.fromEntries(key.map((column) => [column, String(row[column])])),
      row: op === 'delete' ? null : row,
      source: {
        kind: source.kind,
        lsn: source.lsn,
        tx_id: source.txId,
        committed_at: source.committedAt,
      },
    },
    metadata: {},
  };
  return { kind: 'topic', destination: contract.type, key: String(row[partitionBy]), envelope };
}

export type RowChange = [Table, Op, Record<string, unknown>];

/** One transaction of the monolith as the capture publishes it: its changes, numbered in order. */
export const legacyTransaction = (source: CaptureSource, changes: RowChange[]): CapturedMessage[] =>
  changes.map(([table, op, row], index) => legacyChange(table, op, row, source, index));

export interface LegacyOrderRow {
  id: string;
  customer_id: string;
  status: string;
  total_cents: number;
  placed_at: string;
  updated_at: string;
}

export interface LegacyLineRow {
  order_id: string;
  line_no: number;
  product_id: string;
  quantity: number;
  unit_price_cents: number;
}

const hours = (n: number) => new Date(Date.UTC(2024, 0, 1) + n * 3_600_000).toISOString();
const minutes = (n: number) => new Date(Date.UTC(2024, 0, 1) + n * 60_000).toISOString();
const statuses = ['delivered', 'delivered', 'delivered', 'shipped', 'cancelled', 'paid'];

/**
 * The monolith's seed (apps/legacy/migrations), row for row: 5,000 customers, 200 products with
 * their stock, 20,000 orders of 1–3 lines (40,001 lines), totals the sum of their lines.
 */
export function seededMonolith(orderCount = 20_000) {
  const products = Array.from({ length: 200 }, (_, index) => {
    const n = index + 1;
    return {
      id: String(n),
      sku: `LEG-${String(n).padStart(4, '0')}`,
      name: `Legacy product ${n}`,
      price_cents: 100 + ((n * 379) % 9_900),
      updated_at: hours(n),
    };
  });
  const customers = Array.from({ length: 5_000 }, (_, index) => ({
    id: String(index + 1),
    email: `customer${index + 1}@legacy.example`,
    name: `Customer ${index + 1}`,
    password_hash: 'sha256$s$x',
    address: `${index + 1} Old Street, Oldtown`,
    created_at: minutes(-1_000_000 + index * 90),
    updated_at: minutes(-1_000_000 + index * 90),
  }));
  const orders: LegacyOrderRow[] = [];
  const lines: LegacyLineRow[] = [];
  for (let o = 1; o <= orderCount; o += 1) {
    let total = 0;
    for (let l = 1; l <= 1 + (o % 3); l += 1) {
      const product = products[(o * 31 + l * 17) % 200] as (typeof products)[number];
      const quantity = 1 + ((o + l) % 3);
      total += quantity * product.price_cents;
      lines.push({
        order_id: String(o),
        line_no: l,
        product_id: product.id,
        quantity,
        unit_price_cents: product.price_cents,
      });
    }
    orders.push({
      id: String(o),
      customer_id: String(1 + ((o * 7_919) % 5_000)),
      status: statuses[o % 6] as string,
      total_cents: total,
      placed_at: minutes(o * 20),
      updated_at: minutes(o * 20),
    });
  }
  const stock = products.map((product) => ({
    product_id: product.id,
    quantity: 1_000 + ((Number(product.id) * 7) % 500),
    updated_at: hours(0),
  }));
  return { customers, products, stock, orders, lines };
}

/** The initial snapshot of those rows, table after table in the capture's order, as one publish. */
export function snapshotOf(
  monolith: ReturnType<typeof seededMonolith>,
  source: CaptureSource,
): CapturedMessage[] {
  const rows: Array<[Table, Record<string, unknown>[]]> = [
    ['customers', monolith.customers],
    ['products', monolith.products],
    ['stock', monolith.stock],
    ['orders', monolith.orders as unknown as Record<string, unknown>[]],
    ['order_lines', monolith.lines as unknown as Record<string, unknown>[]],
  ];
  let index = 0;
  return rows.flatMap(([table, tableRows]) =>
    tableRows.map((row) => legacyChange(table, 'snapshot', row, source, index++)),
  );
}
