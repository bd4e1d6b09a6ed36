/**
 * The whole platform for a benchmark, as `npm start` runs it (embedded PostgreSQL): start it on a
 * bench's own ports, sign up customers, give every demo SKU plenty of stock, read what the run
 * state says (service URLs, the server's superuser URL). Shared by benches that place orders.
 */

import { readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { ProcessUnderTest, waitFor } from '@mercato/chassis/testing';
import { demoOrderSkus } from '@mercato/demo-shop';
import pg from 'pg';
import { MERCATO_CLI } from '../e2e/support/platform-process.ts';
import { platformDataDir } from '../e2e/support/platform-template.ts';

export const root = fileURLToPath(new URL('..', import.meta.url));
export const demoSkus = demoOrderSkus;

export interface PlatformPorts {
  postgres: number;
  gateway: number;
  base: number;
  grpcBase: number;
}

export interface BenchPlatform {
  process: ProcessUnderTest;
  dataDir: string;
  gateway: string;
  /** The embedded server, as its superuser. */
  serverUrl: string;
  /** A service's database on that server. */
  databaseUrl: (service: string) => string;
  /** A service's HTTP URL (its /metrics) from the run state. */
  serviceUrl: (service: string) => string;
  /** A running process's pid now (it changes when one is restarted), from the run state. */
  pidOf: (name: string) => number | undefined;
  stop: () => Promise<void>;
}

/** What `npm start` is given by a bench: its data directory, its ports, quiet logs, `env` on top. */
export function platformEnvironment(
  dataDir: string,
  ports: PlatformPorts,
  env: Record<string, string> = {},
): Record<string, string> {
  return {
    PATH: process.env.PATH ?? '',
    HOME: process.env.HOME ?? '/root',
    MERCATO_DATA_DIR: dataDir,
    MERCATO_PG_PORT: String(ports.postgres),
    MERCATO_GATEWAY_PORT: String(ports.gateway),
    MERCATO_PORT_BASE: String(ports.base),
    MERCATO_GRPC_PORT_BASE: String(ports.grpcBase),
    LOG_LEVEL: 'warn',
    ...runtimeSettings(),
    ...env,
  };
}

/**
 * How every service process runs, when the bench itself was started with it: Node flags (e.g.
 * `--cpu-prof --cpu-prof-dir=/tmp/profiles` to profile a bench), V8's semispace and pool size, the
 * code cache. A bench run with one of them beside a run without is a same-machine comparison.
 */
export function runtimeSettings(): Record<string, string> {
  const names = [
    'MERCATO_NODE_FLAGS',
    'MERCATO_SEMI_SPACE_MB',
    'MERCATO_V8_POOL_SIZE',
    'MERCATO_MALLOC_MMAP_THRESHOLD',
    'MERCATO_CODE_CACHE',
  ];
  return Object.fromEntries(
    names.flatMap((name) => (process.env[name] ? [[name, process.env[name] ?? '']] : [])),
  );
}

/**
 * Starts `npm start` on `ports` with `env` on top and waits until every service is ready. The data
 * folder is a copy of the e2e suites' first start of this build when there is one (their template,
 * e2e/support/platform-template.ts; `MERCATO_E2E_TEMPLATE=off` for an empty folder): a warm start,
 * as a developer's second `npm start`, which changes nothing a bench measures after it.
 */
export async function startPlatform(
  name: string,
  ports: PlatformPorts,
  env: Record<string, string> = {},
): Promise<BenchPlatform> {
  const dataDir = await platformDataDir(`bench-${name}`, env);
  const child = new ProcessUnderTest([MERCATO_CLI, 'start'], {
    cwd: root,
    env: platformEnvironment(dataDir, ports, env),
  });
  const stop = async () => {
    child.child.kill('SIGINT');
    await Promise.race([child.exited(), sleep(20_000, undefined, { ref: false })]);
    rmSync(dataDir, { recursive: true, force: true });
  };
  try {
    await child.waitForLine(/all services ready in/, 180_000);
  } catch (error) {
    await stop();
    throw error;
  }
  const password = readFileSync(path.join(dataDir, 'postgres-superuser'), 'utf8').trim();
  const serverUrl = `postgres://postgres:${encodeURIComponent(password)}@127.0.0.1:${ports.postgres}/postgres`;
  const readState = () =>
    JSON.parse(readFileSync(path.join(dataDir, 'run', 'state.json'), 'utf8')) as {
      services: Record<string, { url: string; pid: number | null }>;
    };
  const state = readState();
  return {
    process: child,
    dataDir,
    gateway: `http://127.0.0.1:${ports.gateway}`,
    serverUrl,
    databaseUrl: (service) => {
      const url = new URL(serverUrl);
      url.pathname = `/${service}`;
      return url.toString();
    },
    serviceUrl: (service) => {
      const url = state.services[service]?.url;
      if (!url) throw new Error(`the run state has no service ${service}`);
      return url;
    },
    pidOf: (name) => readState().services[name]?.pid ?? undefined,
    stop,
  };
}

/** Every demo SKU gets plenty of stock: stock is not what a bench measures. */
export async function seedStock(platform: BenchPlatform, available = 1_000_000): Promise<void> {
  const inventory = new pg.Client({ connectionString: platform.databaseUrl('inventory') });
  inventory.on('error', () => undefined);
  await inventory.connect();
  await inventory.query('UPDATE stock_levels SET available = $1', [available]);
  await inventory.end();
}

/** Registers and signs in `count` customers; their access tokens once each profile exists. */
export async function customers(gateway: string, count: number, tag = 'bench'): Promise<string[]> {
  const tokens: string[] = [];
  const post = (route: string, body: unknown) =>
    fetch(`${gateway}${route}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  for (let index = 0; index < count; index += 1) {
    const email = `${tag}-${Date.now()}-${index}@mercato.test`;
    await post('/api/auth/register', { email, password: 'bench password 2026', name: 'Bench' });
    const login = (await (
      await post('/api/auth/login', { email, password: 'bench password 2026' })
    ).json()) as {
      access_token: string;
    };
    tokens.push(login.access_token);
  }
  for (const token of tokens)
    await waitFor('the customer profile', async () => {
      const me = await fetch(`${gateway}/api/customers/me`, {
        headers: { authorization: `Bearer ${token}` },
      });
      return me.status === 200;
    });
  return tokens;
}

export const percentile = (values: number[], p: number): number => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] as number);
};
