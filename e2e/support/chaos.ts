import { setTimeout as sleep } from 'node:timers/promises';
import { type Availability, probeNats, waitFor } from '@mercato/chassis/testing';
import { isAlive, type PlatformPorts, PlatformProcess, superuserClient } from './platform-process.ts';
import { platformDataDir } from './platform-template.ts';
import { removeOrKeep } from './post-mortem.ts';
import { type OrderJson, ShopClient } from './shop-client.ts';
import { purgeShopStreams } from './shop-streams.ts';

/** A deterministic pseudo-random sequence, so a failing run can be repeated (CHAOS_SEED). */
export function seededRandom(seed = Number(process.env.CHAOS_SEED ?? 20261128)): () => number {
  let state = seed;
  return () => {
    state = (state * 1_103_515_245 + 12_345) % 2 ** 31;
    return state / 2 ** 31;
  };
}

/**
 * How long a crash test runs, from the environment: full length by default (100 s of faults, as
 * the figures in docs/crash-tests.md), shorter where time is short (`.ci/run`). A bad value stops
 * the test at once with the variable's name.
 */
export function chaosSettings(): {
  faultSeconds: number;
  calibrationSeconds: number;
  rate: number | undefined;
} {
  const number = (name: string, fallback: number, min: number): number => {
    const raw = process.env[name];
    if (raw === undefined || raw === '') return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min)
      throw new Error(`${name} must be a number of at least ${min}, got "${raw}"`);
    return value;
  };
  return {
    faultSeconds: number('CHAOS_FAULT_SECONDS', 100, 3),
    calibrationSeconds: number('CHAOS_CALIBRATION_SECONDS', 15, 3),
    // Orders offered per second during the faults; by default half the calibrated confirmed/s.
    rate: process.env.CHAOS_RATE ? number('CHAOS_RATE', 0, 0.1) : undefined,
  };
}

/** The bus a chaos run uses, from MERCATO_BUS, as platform environment. */
export const chaosBusEnvironment = (): Record<string, string> =>
  process.env.MERCATO_BUS === 'nats'
    ? { MERCATO_BUS: 'nats', NATS_URL: process.env.NATS_URL ?? 'nats://127.0.0.1:4222' }
    : {};

/** Whether the bus of MERCATO_BUS is there (the PostgreSQL message store always is: embedded). */
export const chaosBusAvailability = (): Promise<Availability> =>
  process.env.MERCATO_BUS === 'nats'
    ? probeNats(process.env.NATS_URL ?? 'nats://127.0.0.1:4222')
    : Promise.resolve({ available: true });

/**
 * `kill -9` of a random process among `victims` every `everyMs` for `forMs` or until stopped (the
 * supervisor restarts each). The pids killed are kept so a test can reap stragglers. `stop` returns
 * once every victim answers /readyz again, so what a test reads afterwards is not refused by the
 * last one killed; `stoppedAt` is when the last kill could have happened.
 */
export function killRandomly(options: {
  platform: PlatformProcess;
  victims: readonly string[];
  everyMs: number;
  forMs?: number;
  random: () => number;
  pids: Set<number>;
}) {
  const kills: string[] = [];
  let faulting = true;
  const until = Date.now() + (options.forMs ?? Number.POSITIVE_INFINITY);
  let stoppedAt = 0;
  const running = (async () => {
    while (faulting) {
      await sleep(Math.min(options.everyMs, Math.max(0, until - Date.now())));
      if (!faulting || Date.now() >= until) break;
      const victim = options.victims[Math.floor(options.random() * options.victims.length)] as string;
      const pid = (await options.platform.state()).services[victim]?.pid;
      if (!pid || !isAlive(pid)) continue;
      options.pids.add(pid);
      process.kill(pid, 'SIGKILL');
      kills.push(victim);
    }
    stoppedAt = Date.now();
  })();
  return {
    kills,
    stoppedAt: () => stoppedAt,
    stop: async () => {
      faulting = false;
      await running;
      await waitFor(
        `${options.victims.join(', ')} ready again`,
        async () => {
          const { services } = await options.platform.state();
          for (const victim of options.victims) {
            const service = services[victim];
            if (!service || !isAlive(service.pid)) return false;
            const ready = await fetch(`${service.url}/readyz`, { signal: AbortSignal.timeout(1_000) }).then(
              (response) => response.status === 200,
              () => false,
            );
            if (!ready) return false;
          }
          return true;
        },
        30_000,
        100,
      );
    },
    /** How many times each victim was killed. */
    counts: () => {
      const counts: Record<string, number> = {};
      for (const victim of kills) counts[victim] = (counts[victim] ?? 0) + 1;
      return counts;
    },
  };
}

/**
 * A delivery of `units` to every SKU in every warehouse, written in inventory's database as the
 * embedded server's superuser (inventory has no API for goods coming in), before any order.
 */
export async function restock(platform: PlatformProcess, postgresPort: number, units: number): Promise<void> {
  const database = (await platform.state()).services.inventory?.database;
  if (!database) throw new Error('no inventory database in the run state');
  const client = await superuserClient(platform.dataDir, postgresPort, database);
  try {
    await client.query('UPDATE stock_levels SET available = available + $1', [units]);
  } finally {
    await client.end();
  }
}

export interface AcceptedOrder {
  orderId: string;
  /** When the client first tried to place it. */
  offeredAt: number;
  token: string;
  lines: { sku: string; quantity: number }[];
}

/**
 * Orders offered at `rate` per second by `clients` concurrent clients, each retried with its
 * Idempotency-Key until accepted, as a real client would. A refusal that is not transient is
 * recorded at once; a transient one (no answer, 409 in flight, 5xx) is retried until two minutes
 * after the last order was due (at least 90 s), so an order a client gave up on during the faults
 * is not left running unknown to the test (it may well have been created).
 */
export async function placeOrdersWithRetries(options: {
  shop: ShopClient;
  tokens: string[];
  orders: number;
  rate: number;
  clients: number;
  skus: readonly string[];
  random: () => number;
}) {
  const { shop, tokens, skus, random } = options;
  const accepted: AcceptedOrder[] = [];
  const refused: { key: string; offeredAt: number; status: number; body: string }[] = [];
  let retries = 0;
  let next = 0;
  const began = Date.now();
  const client = async () => {
    while (next < options.orders) {
      const index = next++;
      const due = began + (index * 1_000) / options.rate;
      if (due > Date.now()) await sleep(due - Date.now());
      const token = tokens[index % tokens.length] as string;
      const lines = [
        { sku: skus[Math.floor(random() * skus.length)] as string, quantity: 1 + Math.floor(random() * 3) },
      ];
      const key = `chaos-${began}-${index}`;
      const offeredAt = Date.now();
      const giveUpAt = Math.max(
        offeredAt + 90_000,
        began + (options.orders * 1_000) / options.rate + 120_000,
      );
      for (;;) {
        const response = await shop.placeOrder(token, key, lines).catch(() => undefined);
        if (response?.status === 202) {
          accepted.push({
            orderId: ((await response.json()) as OrderJson).order_id,
            offeredAt,
            token,
            lines,
          });
          break;
        }
        const status = response?.status ?? 0;
        const body = (await response?.text().catch(() => '')) ?? '';
        // 409: the same key still in flight (e.g. its first attempt died with the order service).
        const transient = status === 0 || status === 409 || status >= 500;
        if (!transient || Date.now() > giveUpAt) {
          refused.push({ key, offeredAt, status, body });
          break;
        }
        retries += 1;
        await sleep(200 + Math.floor(random() * 300));
      }
    }
  };
  await Promise.all(Array.from({ length: options.clients }, client));
  return { accepted, refused, retries, placingMs: Date.now() - began };
}

/**
 * A whole shop for a crash test: `npm start` on its own ports with `environment` (and the bus of
 * MERCATO_BUS, its NATS streams purged first), and a stop that also reaps every process the test
 * killed or the supervisor started (`pids`).
 */
export async function startChaosPlatform(options: {
  name: string;
  ports: PlatformPorts;
  environment: Record<string, string>;
  pids: Set<number>;
}) {
  if (process.env.MERCATO_BUS === 'nats')
    await purgeShopStreams(process.env.NATS_URL ?? 'nats://127.0.0.1:4222');
  const dataDir = await platformDataDir(options.name);
  const platform = new PlatformProcess(dataDir, options.ports, {
    GATEWAY_RATE_LIMIT_DEFAULT: 'off',
    GATEWAY_RATE_LIMIT_CREDENTIALS: 'off',
    ...options.environment,
    ...chaosBusEnvironment(),
  });
  await platform.waitForLine(/all services ready in/, 120_000);
  const shop = await ShopClient.connect(`http://127.0.0.1:${options.ports.gateway}`, dataDir, () =>
    platform.state(),
  );
  const stop = async () => {
    const state = await platform.state().catch(() => undefined);
    for (const service of Object.values(state?.services ?? {}))
      if (service.pid) options.pids.add(service.pid);
    platform.child.kill('SIGINT');
    await Promise.race([platform.exited(), sleep(20_000)]);
    for (const pid of options.pids) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await removeOrKeep(options.name, dataDir, platform.lines, Boolean(process.env.MERCATO_CHAOS_KEEP));
  };
  return { platform, shop, stop };
}
