import { setTimeout as sleep } from 'node:timers/promises';
import { adminClient, fail } from './admin-client.ts';

const usage = 'usage: mercato projections <status|rebuild> <order-view|analytics> [--no-wait]';

interface Generation {
  generation: number;
  status: string;
  position: string | null;
  events_applied: number;
  started_at: string;
  switched_at: string | null;
  compared_rows: number | null;
  differences: number | null;
  lag: { events: number; seconds: number } | null;
}

interface Status {
  read_model: string;
  generations: Generation[];
}

/**
 * `mercato projections rebuild order-view`: builds a new copy of a read model from the start of the
 * log while the old one keeps serving, waits until it has caught up and replaced it, and prints
 * what the switch found (rows compared, differences). `status` lists the copies and their lag.
 */
export async function projectionsCommand(args: string[], dataDir: string): Promise<number> {
  const [action, service] = args;
  if (!service || (action !== 'status' && action !== 'rebuild')) return fail(usage);
  const call = await adminClient(service, dataDir);
  if (typeof call === 'string') return fail(call);
  const print = (value: unknown) => process.stdout.write(`${JSON.stringify(value, null, 2)}\n`);
  try {
    if (action === 'status') {
      const { ok, body } = await call('GET', '/admin/read-model');
      print(body);
      return ok ? 0 : 1;
    }
    const started = await call('POST', '/admin/read-model/rebuild');
    if (!started.ok) {
      print(started.body);
      return 1;
    }
    const building = (started.body as Status).generations.find((g) => g.status === 'building');
    if (!building || args.includes('--no-wait')) {
      print(started.body);
      return 0;
    }
    process.stdout.write(
      `rebuilding ${service} as generation ${building.generation}; the live copy keeps serving\n`,
    );
    for (;;) {
      await sleep(1_000);
      const { body } = await call('GET', '/admin/read-model');
      const now = (body as Status).generations.find((g) => g.generation === building.generation);
      if (!now) return fail(`generation ${building.generation} disappeared`);
      if (now.status === 'live') {
        const seconds = (Date.parse(now.switched_at ?? '') - Date.parse(now.started_at)) / 1000;
        process.stdout.write(
          `switched to generation ${now.generation} after ${seconds.toFixed(1)} s: ${now.events_applied} events applied, ` +
            `${now.compared_rows} rows compared with the old copy, ${now.differences} differences\n`,
        );
        return now.differences === 0 ? 0 : 1;
      }
      process.stdout.write(`  ${now.events_applied} events applied, ${now.lag?.events ?? '?'} behind\n`);
    }
  } catch (error) {
    return fail((error as Error).message);
  }
}
