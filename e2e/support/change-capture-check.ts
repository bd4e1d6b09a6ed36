import { lsnValue } from '../../apps/legacy-cdc/src/lsn.ts';
import { type ExpectedChange, isMarkerEmail, type WriterTransaction } from './monolith-writer.ts';

/** A change event of the legacy CDC as it is on the bus. */
export interface CapturedEvent {
  position: number;
  destination: string;
  partitionKey: string;
  envelope: {
    event_id: string;
    data: {
      op: string;
      key: Record<string, string>;
      row: Record<string, unknown> | null;
      source: { kind: string; lsn: string; tx_id: number; committed_at: string };
    };
  };
}

export const eventTypeOf: Record<ExpectedChange['table'], string> = {
  customers: 'legacy.customer.changed',
  orders: 'legacy.order.changed',
  order_lines: 'legacy.order_line.changed',
  stock: 'legacy.stock.changed',
};

/** A key as text, its columns in name order: the same key whichever order its columns came in. */
export const keyText = (key: Record<string, unknown>): string =>
  JSON.stringify(Object.fromEntries(Object.entries(key).sort(([a], [b]) => a.localeCompare(b))));

const describeChange = (destination: string, op: string, key: Record<string, string>) =>
  `${destination} ${op} ${keyText(key)}`;

/** `cdc_t<commit LSN>:<n>` → its LSN and n. */
const idParts = (eventId: string): { lsn: string; index: number } | undefined => {
  const match = /^cdc_t([0-9A-F]+\/[0-9A-F]+):(\d+)$/i.exec(eventId);
  return match ? { lsn: match[1] as string, index: Number(match[2]) } : undefined;
};

/** The 32-bit xid pgoutput sends (`tx_id`) of a full `pg_current_xact_id()`. */
const xid32 = (xid: bigint): number => Number(xid & 0xffff_ffffn);

export interface CaptureCheck {
  /** Per `<table> <op>`: changes the monolith committed, and change events on the bus. */
  perTable: Record<string, { committed: number; captured: number }>;
  committedChanges: number;
  capturedChanges: number;
  /** Each safety check's violations (none is the only passing value). */
  violations: Record<string, string[]>;
}

/**
 * Every committed writer transaction against the change events on the bus, by the transaction's
 * xid: its changes all there, once, in its order, under one LSN (`cdc_t<lsn>:0…n-1`); nothing from
 * a transaction that did not commit, nothing from one the writer never made; per partition, the
 * LSNs in bus order never go back.
 */
export function checkCapture(transactions: readonly WriterTransaction[], events: readonly CapturedEvent[]) {
  const violations: Record<string, string[]> = {
    lost_or_wrong_transactions: [],
    captured_but_not_committed: [],
    captured_from_unknown_transactions: [],
    transaction_not_under_one_lsn: [],
    partition_out_of_order: [],
  };
  const note = (check: string, what: string) => violations[check]?.push(what);
  const perTable: CaptureCheck['perTable'] = {};
  const count = (label: string, field: 'committed' | 'captured') => {
    perTable[label] ??= { committed: 0, captured: 0 };
    perTable[label][field] += 1;
  };

  const byTransaction = new Map<number, CapturedEvent[]>();
  for (const event of events) {
    const txId = event.envelope.data.source.tx_id;
    byTransaction.set(txId, byTransaction.get(txId) ?? []);
    byTransaction.get(txId)?.push(event);
    const table = Object.entries(eventTypeOf).find(([, type]) => type === event.destination)?.[0];
    count(`${table ?? event.destination} ${event.envelope.data.op}`, 'captured');
  }

  const known = new Set<number>();
  for (const tx of transactions) {
    // A transaction whose xid was handed out again after a crash never committed; the events
    // under that xid are its successor's.
    if (tx.xid === undefined || tx.xidReused) continue;
    const id = xid32(tx.xid);
    known.add(id);
    const captured = byTransaction.get(id) ?? [];
    if (!tx.committed || tx.changes.length === 0) {
      if (captured.length > 0) note('captured_but_not_committed', `tx ${tx.xid} (${tx.outcome})`);
      continue;
    }
    for (const change of tx.changes) count(`${change.table} ${change.op}`, 'committed');
    const ordered = [...captured].sort(
      (a, b) => (idParts(a.envelope.event_id)?.index ?? 0) - (idParts(b.envelope.event_id)?.index ?? 0),
    );
    const want = tx.changes.map((change) => describeChange(eventTypeOf[change.table], change.op, change.key));
    const have = ordered.map((event) =>
      describeChange(event.destination, event.envelope.data.op, event.envelope.data.key),
    );
    if (JSON.stringify(want) !== JSON.stringify(have))
      note(
        'lost_or_wrong_transactions',
        `tx ${tx.xid} (${tx.outcome}): want ${want.join('; ')} | on the bus ${have.join('; ') || 'nothing'}`,
      );
    const lsns = new Set(ordered.map((event) => event.envelope.data.source.lsn));
    const ids = ordered.map((event) => idParts(event.envelope.event_id));
    const numbered = ids.every(
      (parts, index) => parts?.index === index && parts.lsn === ordered[index]?.envelope.data.source.lsn,
    );
    if (lsns.size > 1 || !numbered)
      note(
        'transaction_not_under_one_lsn',
        `tx ${tx.xid}: ${ordered.map((event) => event.envelope.event_id).join(', ')}`,
      );
  }
  for (const [txId, captured] of byTransaction)
    if (!known.has(txId))
      note('captured_from_unknown_transactions', `tx_id ${txId}: ${captured.length} events`);

  // In bus order, each partition's events go forward in the log: (commit LSN, n) strictly rising.
  const last = new Map<string, { lsn: bigint; index: number; id: string }>();
  for (const event of events) {
    const partition = `${event.destination} ${event.partitionKey}`;
    const lsn = lsnValue(event.envelope.data.source.lsn);
    const index = idParts(event.envelope.event_id)?.index ?? 0;
    const before = last.get(partition);
    if (before && (lsn < before.lsn || (lsn === before.lsn && index <= before.index)))
      note('partition_out_of_order', `${partition}: ${event.envelope.event_id} after ${before.id}`);
    last.set(partition, { lsn, index, id: event.envelope.event_id });
  }

  const sum = (field: 'committed' | 'captured') =>
    Object.values(perTable).reduce((total, counts) => total + counts[field], 0);
  return {
    perTable,
    committedChanges: sum('committed'),
    capturedChanges: sum('captured'),
    violations,
  } satisfies CaptureCheck;
}

/** The last change event of each row (in log order): what a consumer holds once it has caught up. */
export function lastRowOf(
  events: readonly CapturedEvent[],
  destination: string,
): Map<string, Record<string, unknown>> {
  const rows = new Map<string, Record<string, unknown>>();
  const sorted = events
    .filter((event) => event.destination === destination)
    .map((event) => ({
      event,
      lsn: lsnValue(event.envelope.data.source.lsn),
      index: idParts(event.envelope.event_id)?.index ?? 0,
    }))
    .sort((a, b) => (a.lsn === b.lsn ? a.index - b.index : a.lsn < b.lsn ? -1 : 1));
  for (const { event } of sorted) {
    const row = event.envelope.data.row;
    if (row) rows.set(keyText(event.envelope.data.key), row);
  }
  return rows;
}

/** The monolith's rows the writer touched, as they are once it stopped. */
export interface MonolithRows {
  /** Every customer with a marker email (`w<n>@crash.example`). */
  markers: { id: string; email: string; name: string; address: string }[];
  stock: { product_id: string; quantity: number }[];
}

/**
 * The stream against the monolith's final rows: its marker customers are exactly those the stream
 * announced an insert of (a second insert of one would fail `checkCapture`), and for each row the
 * stream touched, its last event is the row as it is.
 */
export function checkFinalRows(events: readonly CapturedEvent[], monolith: MonolithRows) {
  const inMonolith = new Set(monolith.markers.map((row) => `${row.id} ${row.email}`));
  const inserted = new Set(
    events
      .filter(
        (event) =>
          event.destination === eventTypeOf.customers &&
          event.envelope.data.op === 'insert' &&
          isMarkerEmail(event.envelope.data.row?.email),
      )
      .map((event) => `${event.envelope.data.key.id} ${event.envelope.data.row?.email}`),
  );
  const lastCustomer = lastRowOf(events, eventTypeOf.customers);
  const lastStock = lastRowOf(events, eventTypeOf.stock);
  return {
    inMonolith: inMonolith.size,
    inserted: inserted.size,
    violations: {
      marker_customers_differ: [
        ...[...inMonolith].filter((marker) => !inserted.has(marker)).map((marker) => `${marker}: no insert`),
        ...[...inserted]
          .filter((marker) => !inMonolith.has(marker))
          .map((marker) => `${marker}: not in the monolith`),
      ],
      last_event_is_not_the_row: [
        ...monolith.markers
          .filter((row) => {
            const last = lastCustomer.get(keyText({ id: row.id }));
            return last?.name !== row.name || last?.address !== row.address;
          })
          .map((row) => `customer ${row.id}: ${row.name}, ${row.address}`),
        ...monolith.stock
          .filter((row) => {
            const last = lastStock.get(keyText({ product_id: row.product_id }));
            return last !== undefined && last.quantity !== row.quantity;
          })
          .map((row) => `stock ${row.product_id}: ${row.quantity}`),
      ],
    },
  };
}
