import type pg from 'pg';
import { type CpuSample, cpuBetween, type ProcessLabeller, sampleCpu } from '../process-cpu.ts';

/**
 * A soak's figures: the closed loop's cost window by window (BENCH_WINDOW_SECONDS), so that an order
 * that costs more after minutes than in the first one shows, beside what may make it so — the message
 * store's queue table (`bus_deliveries`: every delivery is a row inserted, updated by its claim and
 * deleted by its acknowledgement, so dead rows pile up between autovacuum's visits and claims walk
 * past them). The first window is the same run's baseline.
 */
export interface CostWindow {
  from_s: number;
  to_s: number;
  /** Orders whose saga ended in the window. */
  orders: number;
  /** Platform CPU (Node processes and PostgreSQL), net of idle, ms an order. */
  platform_cpu_ms_per_order: number | null;
  postgres_cpu_ms_per_order: number | null;
  queue: QueueTable | null;
}

/** `bus_deliveries` at a window's end, from PostgreSQL's statistics (they lag by up to a second). */
export interface QueueTable {
  live_rows: number;
  dead_rows: number;
  table_kb: number;
  indexes_kb: number;
  autovacuums: number;
}

interface Sample {
  at: number;
  cpu: CpuSample | undefined;
  orders: number;
  queue: QueueTable | null;
}

export async function queueTable(messages: pg.Client | undefined): Promise<QueueTable | null> {
  if (!messages) return null;
  try {
    const { rows } = await messages.query<QueueTable>(
      `SELECT n_live_tup::int AS live_rows, n_dead_tup::int AS dead_rows,
              (pg_table_size(relid) / 1024)::int AS table_kb, (pg_indexes_size(relid) / 1024)::int AS indexes_kb,
              autovacuum_count::int AS autovacuums
         FROM pg_stat_user_tables WHERE relname = 'bus_deliveries'`,
    );
    return rows[0] ?? null;
  } catch {
    return null;
  }
}

/**
 * Samples every `seconds` until stopped: CPU of the platform's processes, orders ended so far, the
 * queue table. `idleMsPerS` is what the platform spends a second with nothing offered (subtracted).
 */
export function startCostWindows(options: {
  seconds: number;
  labeller: ProcessLabeller;
  counted: (name: string) => boolean;
  orders: () => number;
  messages: pg.Client | undefined;
  idleMsPerS: { platform: number; postgres: number };
}): { stop: () => Promise<CostWindow[]> } {
  const began = performance.now();
  const samples: Sample[] = [];
  const take = async () => {
    const at = performance.now();
    const cpu = sampleCpu(options.labeller);
    samples.push({ at, cpu, orders: options.orders(), queue: await queueTable(options.messages) });
  };
  let pending = take();
  const timer = setInterval(() => {
    pending = pending.then(take);
  }, options.seconds * 1_000);
  return {
    stop: async () => {
      clearInterval(timer);
      await pending;
      await take();
      return samples.slice(1).flatMap((to, index) => {
        const from = samples[index];
        // The stretch after the last whole window, if shorter than half of one, says little.
        if (!from || (index > 0 && to.at - from.at < (options.seconds * 1_000) / 2)) return [];
        const seconds = (to.at - from.at) / 1_000;
        const orders = to.orders - from.orders;
        const spent = from.cpu && to.cpu ? cpuBetween(from.cpu, to.cpu) : undefined;
        const sum = (pick: (name: string) => boolean) =>
          spent ? spent.filter(([name]) => pick(name)).reduce((total, [, ms]) => total + ms, 0) : undefined;
        const perOrder = (ms: number | undefined, idlePerS: number) =>
          ms === undefined || orders === 0
            ? null
            : Math.round((Math.max(0, ms - idlePerS * seconds) / orders) * 10) / 10;
        return [
          {
            from_s: Math.round((from.at - began) / 100) / 10,
            to_s: Math.round((to.at - began) / 100) / 10,
            orders,
            platform_cpu_ms_per_order: perOrder(sum(options.counted), options.idleMsPerS.platform),
            postgres_cpu_ms_per_order: perOrder(
              sum((name) => name === 'postgres'),
              options.idleMsPerS.postgres,
            ),
            queue: to.queue,
          },
        ];
      });
    },
  };
}

/** The windows as a table for the bench's output. */
export function formatCostWindows(label: string, windows: readonly CostWindow[]): string {
  const lines = [
    `cost window by window (${label}; the first window is the baseline)`,
    '  window s       orders   platform ms/order   postgres ms/order   bus_deliveries live / dead   table + indexes kB   autovacuums',
  ];
  for (const w of windows) {
    const queue = w.queue;
    lines.push(
      `  ${`${w.from_s}–${w.to_s}`.padEnd(15)}${String(w.orders).padStart(6)}` +
        `${String(w.platform_cpu_ms_per_order ?? '-').padStart(20)}${String(w.postgres_cpu_ms_per_order ?? '-').padStart(20)}` +
        `${(queue ? `${queue.live_rows} / ${queue.dead_rows}` : '-').padStart(29)}` +
        `${(queue ? `${queue.table_kb} + ${queue.indexes_kb}` : '-').padStart(21)}` +
        `${String(queue?.autovacuums ?? '-').padStart(14)}`,
    );
  }
  return lines.join('\n');
}
