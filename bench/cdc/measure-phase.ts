/**
 * One streaming phase of bench/cdc: the writers commit `count` changes to the monolith at a rate (or
 * as fast as they go), and the phase ends when every one has reached the consumer (or a deadline
 * passes). Throughput, lag from each commit to its event at the consumer, CPU per change by part.
 */
import { waitFor } from '@mercato/chassis/testing';
import type pg from 'pg';
import type { BusArrivals } from './bus-arrivals.ts';
import { type CaptureCpu, type Side, sideOf } from './capture-cpu.ts';
import type { ChangeWriter } from './change-writer.ts';

export interface PhaseRig {
  writer: ChangeWriter;
  arrivals: BusArrivals;
  meter: CaptureCpu;
  /** The PostgreSQL message store, to read when each change was published (`bus_messages.published_at`). */
  store: pg.Client;
  /** How long to wait for the last change to reach the consumer. */
  deadlineMs: number;
  /**
   * How long to leave the server idle after a phase before reading its transaction counts: a
   * backend that reported less than a second ago holds what it did since for up to 10 s once idle
   * (PostgreSQL's PGSTAT_IDLE_INTERVAL), which would land in the next phase's figure (0: not waited,
   * the smoke mode's; its figures are then only roughly each phase's).
   */
  settleMs: number;
  /** The counts read after the last phase's settling, where the next phase's begin. */
  transactions?: Map<string, number>;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
export const round = (value: number, digits = 1): number => Number(value.toFixed(digits));
const summary = (values: number[]) => {
  const sorted = [...values].sort((a, b) => a - b);
  return {
    p50: round(percentile(sorted, 50)),
    p99: round(percentile(sorted, 99)),
    max: round(sorted.at(-1) ?? 0),
  };
};
const monotonicUs = () => Number(process.hrtime.bigint() / 1_000n);
const SIDES: readonly Side[] = ['monolith', 'capture', 'consumer', 'server'];

const storeHead = async (store: pg.Client): Promise<string> =>
  (await store.query<{ head: string }>('SELECT coalesce(max(position), 0)::text AS head FROM bus_messages'))
    .rows[0]?.head ?? '0';

/** When each streamed change after `from` was published, by source transaction id (wall-clock ms). */
async function publishedAt(store: pg.Client, from: string): Promise<Map<number, number>> {
  const { rows } = await store.query<{ xid: number; at: number }>(
    `SELECT (envelope->'data'->'source'->>'tx_id')::bigint AS xid, extract(epoch FROM published_at) * 1000 AS at
       FROM bus_messages WHERE position > $1 AND envelope->'data'->'source'->>'kind' = 'stream'`,
    [from],
  );
  return new Map(rows.map((row) => [Number(row.xid), Number(row.at)]));
}

export type PhaseResult = Awaited<ReturnType<typeof measurePhase>>;

/** Writes `count` changes at `rate` per second (0: closed loop) and measures them to the consumer. */
export async function measurePhase(rig: PhaseRig, name: string, count: number, rate: number) {
  const { writer, arrivals, meter } = rig;
  const fromStorePosition = await storeHead(rig.store);
  process.stdout.write(`${name}: ${count} changes${rate > 0 ? ` at ${rate}/s` : ', as fast as they go'}\n`);
  await meter.start();
  const transactionsBefore = rig.transactions ?? (await meter.transactions());
  const fromUs = monotonicUs();
  const written = await writer.write(count, rate);
  const arrived = () => {
    let n = 0;
    for (const xid of written.commits.keys()) if (arrivals.streamed.has(xid)) n += 1;
    return n;
  };
  await waitFor(
    'every change at the consumer',
    () => arrived() === written.commits.size,
    rig.deadlineMs,
    20,
  ).catch(() => undefined);
  const cpuMs = await meter.stop();
  const toUs = monotonicUs();
  await new Promise((resolve) => setTimeout(resolve, rig.settleMs));
  const transactionsAfter = await meter.transactions();
  rig.transactions = transactionsAfter;
  const matched = [...written.commits].flatMap(([xid, committed]) => {
    const arrival = arrivals.streamed.get(xid);
    return arrival ? [{ xid, committed, ...arrival }] : [];
  });
  const published = await publishedAt(rig.store, fromStorePosition);
  const lastArrival = matched.reduce((last, change) => Math.max(last, change.at), written.ended);
  const elapsedS = (lastArrival - written.began) / 1_000;
  const cpuUs = Object.fromEntries(cpuMs.map(([part, ms]) => [part, round((ms * 1_000) / count)]));
  return {
    name,
    offered_per_s: rate,
    changes: count,
    committed: written.commits.size,
    arrived: matched.length,
    writers_committed_per_s: Math.round(count / ((written.ended - written.began) / 1_000)),
    /** From the first writer's start to the last change at the consumer. */
    delivered_per_s: Math.round(matched.length / elapsedS),
    seconds: round(elapsedS, 2),
    /** From each commit, as its writer saw COMMIT return, to its arrival at the consumer. */
    lag_ms: summary(matched.map((change) => change.at - change.committed)),
    /** From the commit to the relay's publish transaction in the store (its `now()`, server clock). */
    commit_to_bus_ms: summary(
      matched.flatMap((change) => {
        const at = published.get(change.xid);
        return at === undefined ? [] : [at - change.committed];
      }),
    ),
    /** From there to the consumer: the store's notification, a claim, the handler. */
    bus_to_consumer_ms: summary(
      matched.flatMap((change) => {
        const at = published.get(change.xid);
        return at === undefined ? [] : [change.at - at];
      }),
    ),
    /** The same from the commit time the envelope carries (`data.source.committed_at`, whole ms). */
    lag_from_committed_at_ms: summary(matched.map((change) => change.at - change.committedAt)),
    /** Per database: the monolith's (writers, heartbeats), the capture's own, the message store. */
    transactions_per_change: Object.fromEntries(
      [...transactionsAfter].map(([database, n]) => [
        database,
        round((n - (transactionsBefore.get(database) ?? 0)) / count, 2),
      ]),
    ),
    cpu_ms: Object.fromEntries(cpuMs.map(([part, ms]) => [part, Math.round(ms)])),
    cpu_us_per_change: cpuUs,
    cpu_us_per_change_by_side: Object.fromEntries(
      SIDES.map((side) => [
        side,
        round(
          Object.entries(cpuUs)
            .filter(([part]) => sideOf(part) === side)
            .reduce((sum, [, us]) => sum + us, 0),
        ),
      ]),
    ) as Record<Side, number>,
    /** The phase on the monotonic clock V8's CPU profiles use (BENCH_CPU_PROF). */
    window_us: [fromUs, toUs] as [number, number],
  };
}
