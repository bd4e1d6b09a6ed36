import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@mercato/chassis/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorWindow, steadyLoad } from './support/edge-load.ts';
import { isAlive, PlatformProcess, superuserClient } from './support/platform-process.ts';
import { platformDataDir } from './support/platform-template.ts';

// Ports of their own, so the suite runs beside a developer's `npm start` and the other e2e suites.
const ports = { postgres: 25392, gateway: 18180, base: 14101, grpcBase: 15101 };
const gateway = `http://127.0.0.1:${ports.gateway}`;
const RATE = 50;

/** For each service: a request through the gateway that it answers, idempotent. */
const probes: Record<string, () => Promise<Response>> = {
  catalog: () => fetch(`${gateway}/api/catalog/products?page_size=5`),
  identity: () => fetch(`${gateway}/.well-known/jwks.json`),
  pricing: () =>
    fetch(`${gateway}/api/cart/quote`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ items: [{ sku: 'BOK-0001', quantity: 3 }] }),
    }),
  inventory: () => fetch(`${gateway}/api/inventory/stock/OUT-0001`),
};

describe('restarts as a client of the gateway sees them (kill -9 under load)', () => {
  let dataDir = '';
  let platform: PlatformProcess;
  const stragglers: number[] = [];

  beforeAll(async () => {
    dataDir = await platformDataDir('restarts');
    // Limits off: this suite measures availability, not the rate limiter.
    platform = new PlatformProcess(dataDir, ports, {
      GATEWAY_RATE_LIMIT_DEFAULT: 'off',
      GATEWAY_RATE_LIMIT_CREDENTIALS: 'off',
    });
    await platform.waitForLine(/all services ready in/, 60_000);
    const state = await platform.state();
    stragglers.push(state.supervisor_pid, ...Object.values(state.services).map((s) => s.pid ?? 0));
  });

  afterAll(async () => {
    platform.child.kill('SIGINT');
    await Promise.race([platform.exited(), sleep(15_000)]);
    for (const pid of stragglers) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  for (const service of Object.keys(probes)) {
    it(`${service}: every request sent from 5 s after it is ready again succeeds`, async () => {
      const probe = probes[service] as () => Promise<Response>;
      const before = await platform.state();
      const killed = before.services[service]?.pid as number;
      const own = before.services[service]?.url as string;
      expect(isAlive(killed)).toBe(true);
      expect((await probe()).status).toBe(200);

      const load = steadyLoad(probe, RATE);
      await sleep(1_000);
      const killedAt = Date.now();
      process.kill(killed, 'SIGKILL');
      // Ready again: a new process answering its own /readyz.
      await waitFor(
        `${service} ready again under a new pid`,
        async () => {
          const pid = (await platform.state()).services[service]?.pid;
          if (!pid || pid === killed) return false;
          return (await fetch(`${own}/readyz`).catch(() => undefined))?.status === 200;
        },
        15_000,
        20,
      );
      const readyAt = Date.now();
      stragglers.push((await platform.state()).services[service]?.pid ?? 0);
      await sleep(8_000);
      await load.stop();

      const window = errorWindow(load.outcomes, readyAt);
      const summary = `${service}: kill → ready ${readyAt - killedAt} ms; ${window.requests} requests, ${window.errors} errors ${JSON.stringify(window.statuses)}; last failed request sent ${window.lastFailedSentAfterMs ?? 'none'} ms and ended ${window.lastErrorAfterMs ?? 'none'} ms after ready; slowest success ${window.slowestMs} ms`;
      console.log(summary);
      // The gateway's circuit to the service, as it changed from the kill on (ms after ready).
      const transitions = platform
        .jsonLines()
        .filter((line) => line.breaker_state !== undefined && Date.parse(String(line.timestamp)) >= killedAt)
        .map(
          (line) =>
            `${String(line.service)}→${String(line.dependency)} ${String(line.breaker_state)} ${Date.parse(String(line.timestamp)) - readyAt}`,
        );
      const circuit = `${service}: circuit transitions (ms after ready): ${transitions.join(', ') || 'none'}`;
      console.log(circuit);
      expect(window.requests).toBeGreaterThan(RATE * 3);
      // Healed: what a client sends once the service is back is answered. A request caught by the
      // restart (sent before) may still fail after it, when its own attempt times out; an edge
      // that kept failing new requests (a breaker open for 30 s, as once here) fails this. The
      // gateway's breaker, opened by the outage, refuses until its half-open probe succeeds: about
      // 0.5 to 2.1 s after ready here, 1.5 s in CI beside the other suites. Watched for 8 s.
      if (window.lastFailedSentAfterMs !== null)
        expect(window.lastFailedSentAfterMs, `${summary}\n${circuit}`).toBeLessThanOrEqual(5_000);
      // Serving afterwards.
      expect((await probe()).status).toBe(200);
    });
  }

  it('PostgreSQL: killed under load, serving again within 10 s with every committed row kept', async () => {
    const before = await platform.state();
    const postgresPid = before.postgres.pid as number;
    expect(isAlive(postgresPid)).toBe(true);

    // Writes through the edge (registrations, each committed when answered 201) beside reads.
    const registered: string[] = [];
    let sequence = 0;
    const writes = steadyLoad(async () => {
      const email = `restart-${++sequence}@mercato.test`;
      const response = await fetch(`${gateway}/api/auth/register`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ email, password: 'correct-horse-battery', name: 'Restart Test' }),
      });
      if (response.status === 201) registered.push(email);
      return response;
    }, 10);
    const reads = steadyLoad(probes.catalog as () => Promise<Response>, 20);
    await sleep(1_500);
    const killedAt = Date.now();
    process.kill(postgresPid, 'SIGKILL');
    await platform.waitForLine(/PostgreSQL \(pid \d+\) died/, 5_000);
    await waitFor(
      'reads served again after the outage',
      () => reads.outcomes.some((o) => o.sentAt > killedAt + 200 && o.status === 200),
      15_000,
      50,
    );
    // Registrations (scrypt-hashed, so CPU-heavy while everything reconnects) are answered again
    // too. The outage's bound is the reads' (below); this waits for writes to come back at all,
    // counted from the reads' return: 15 s was once too short in CI beside the other suites, while
    // PostgreSQL's crash recovery and every service's reconnection shared two cores.
    await waitFor(
      'registrations committed again after the outage',
      () => writes.outcomes.some((o) => o.sentAt > killedAt + 200 && o.status === 201),
      30_000,
      50,
    );
    await sleep(4_000);
    await Promise.all([writes.stop(), reads.stop()]);

    const failedReads = reads.outcomes.filter((o) => o.status !== 200 && o.sentAt >= killedAt - 1_000);
    const lastFailure = Math.max(killedAt, ...failedReads.map((o) => o.endedAt));
    const outage = lastFailure - killedAt;
    const after = await platform.state();
    console.log(
      `postgres: kill → last failed read ${outage} ms; ${failedReads.length} failed reads of ${reads.outcomes.length}; ${registered.length} registrations committed; new postmaster pid ${after.postgres.pid}`,
    );
    expect(outage).toBeLessThanOrEqual(10_000);
    expect(after.postgres.pid).not.toBe(postgresPid);
    expect(isAlive(after.postgres.pid)).toBe(true);
    // Reads are served at the end, and everything answered 201 is in identity's database.
    expect(reads.outcomes.slice(-10).every((o) => o.status === 200)).toBe(true);
    // Enough committed rows for the check below to mean something. How many get through varies
    // with the machine (each is an scrypt hash; 8–18 in CI runs at 10/s offered), so no more than that.
    expect(registered.length).toBeGreaterThanOrEqual(5);
    const identity = await superuserClient(dataDir, ports.postgres, 'identity');
    try {
      const { rows } = await identity.query<{ email: string }>(
        "SELECT email FROM users WHERE email LIKE 'restart-%@mercato.test'",
      );
      const stored = new Set(rows.map((row) => row.email));
      expect(registered.filter((email) => !stored.has(email))).toEqual([]);
    } finally {
      await identity.end();
    }
  });
});
