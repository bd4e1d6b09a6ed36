import { describe, expect, it } from 'vitest';
import { type CapturedEvent, checkCapture } from './change-capture-check.ts';
import type { WriterTransaction } from './monolith-writer.ts';

const customer = (xid: number, id: string, extra: Partial<WriterTransaction> = {}): WriterTransaction => ({
  index: xid,
  kind: 'customer',
  xid: BigInt(xid),
  outcome: 'committed',
  committed: true,
  changes: [{ table: 'customers', op: 'insert', key: { id } }],
  ...extra,
});

const event = (xid: number, lsn: string, n: number, id: string): CapturedEvent => ({
  position: 0,
  destination: 'legacy.customer.changed',
  partitionKey: id,
  envelope: {
    event_id: `cdc_t${lsn}:${n}`,
    data: {
      op: 'insert',
      key: { id },
      row: { id },
      source: { kind: 'stream', lsn, tx_id: xid, committed_at: '2026-01-01T00:00:00Z' },
    },
  },
});

const violated = (transactions: WriterTransaction[], events: CapturedEvent[]) =>
  Object.entries(checkCapture(transactions, events).violations)
    .filter(([, found]) => found.length > 0)
    .map(([name]) => name);

describe('checking a change stream against the writer', () => {
  it('passes every committed change on the bus once, under its commit', () => {
    expect(
      violated(
        [customer(10, '1'), customer(11, '2')],
        [event(10, '0/A0', 0, '1'), event(11, '0/B0', 0, '2')],
      ),
    ).toEqual([]);
  });

  it('finds a committed transaction missing, and one that did not commit on the bus', () => {
    expect(
      violated(
        [customer(10, '1'), customer(11, '2', { committed: false, outcome: 'ambiguous' })],
        [event(11, '0/B0', 0, '2')],
      ),
    ).toEqual(['lost_or_wrong_transactions', 'captured_but_not_committed']);
  });

  it('finds events no writer transaction made, and a partition going back in the log', () => {
    expect(violated([customer(10, '1')], [event(10, '0/B0', 0, '1'), event(12, '0/A0', 0, '1')])).toEqual([
      'captured_from_unknown_transactions',
      'partition_out_of_order',
    ]);
  });

  it("gives a crash's reused xid to the transaction that committed under it", () => {
    const lost = customer(10, '1', { outcome: 'failed', committed: false, xidReused: true });
    const later = { ...customer(10, '2'), index: 99 };
    expect(violated([lost, later], [event(10, '0/B0', 0, '2')])).toEqual([]);
  });
});
