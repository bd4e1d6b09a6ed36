import { once } from 'node:events';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { SMOKE_CALLS, smokeCheck } from './smoke-check.ts';

const servers: Server[] = [];

async function serve(handle: (request: IncomingMessage, response: ServerResponse) => void): Promise<string> {
  const server = createServer(handle);
  servers.push(server);
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

/**
 * A green instance (`/readyz`, and `/metrics` counting the gRPC calls it served) and a gateway that
 * passes each call to it, or answers as `gatewayAnswer` says: a status, or `undefined` to never answer.
 */
async function platform(gatewayAnswer: (call: number) => number | Problem | 'hang' | 'slow') {
  let served = 0;
  const green = await serve((request, response) => {
    if (request.url === '/readyz') return void response.end('ok');
    response.setHeader('content-type', 'text/plain');
    response.end(
      `# TYPE rpc_server_duration_seconds histogram\nrpc_server_duration_seconds_count{grpc_code="OK"} ${served}\n`,
    );
  });
  let calls = 0;
  const seen: Array<string | undefined> = [];
  const gateway = await serve((request, response) => {
    calls += 1;
    seen.push(request.headers['x-mercato-canary'] as string | undefined);
    const answer = gatewayAnswer(calls);
    if (answer === 'hang') return;
    const respond = (status: number) => {
      if (status === 200) served += 1;
      response.statusCode = status;
      response.end('{}');
    };
    if (answer === 'slow') setTimeout(() => respond(200), SLOW_MS);
    else if (typeof answer === 'number') respond(answer);
    else {
      response.statusCode = answer.status;
      response.setHeader('content-type', 'application/problem+json');
      response.setHeader('retry-after', '1');
      response.end(JSON.stringify({ status: answer.status, code: answer.code }));
    }
  });
  return { green: [{ name: 'catalog-v2-1', url: green }], gateway, calls: () => calls, seen };
}

/** A problem the gateway answers with, Retry-After 1 s. */
interface Problem {
  status: number;
  code: string;
}

/**
 * Limits for checks whose calls are all answered at once: wide enough that a loaded machine (the CI
 * runs suites side by side on two cores) never turns a quick local answer into a timeout.
 */
const limits = { readyTimeoutMs: 5_000, callTimeoutMs: 5_000, budgetMs: 20_000 };
/** Limits for the check of a green that never answers: short calls, a short budget. */
const tight = { readyTimeoutMs: 5_000, callTimeoutMs: 400, budgetMs: 1_500 };
/** A call timeout for the test of a call asked again: a quick answer never reaches it, a slow one does. */
const ONE_SECOND = 1_000;
/** How late the gateway answers a 'slow' call: well past `ONE_SECOND`. */
const SLOW_MS = 3_000;

describe('smokeCheck: green checked alone through the gateway before the switch', () => {
  it('passes when every call is answered 2xx and served by green, each sent as a tester', async () => {
    const { green, gateway, seen } = await platform(() => 200);
    const summary = await smokeCheck(green, gateway, '/api/catalog/products?page_size=1', limits);
    expect(summary).toBe(
      `${SMOKE_CALLS} calls to /api/catalog/products?page_size=1 through the gateway, all answered 2xx, served by green`,
    );
    expect(seen).toEqual(Array(SMOKE_CALLS).fill('always'));
  });

  it('asks a call with no answer in time again, within the budget, and says so', async () => {
    // The first call outlasts its timeout (a fresh instance on a loaded machine); the next are quick.
    const { green, gateway, calls } = await platform((call) => (call === 1 ? 'slow' : 200));
    const summary = await smokeCheck(green, gateway, '/api/catalog/products', {
      ...limits,
      callTimeoutMs: ONE_SECOND,
    });
    expect(summary).toMatch(/all answered 2xx, served by green \(1 asked again after no answer in time\)$/);
    expect(calls()).toBe(SMOKE_CALLS + 1);
  });

  it('fails at once on an answer that is not 2xx, without asking again', async () => {
    const { green, gateway, calls } = await platform((call) => (call === 3 ? 500 : 200));
    const started = Date.now();
    await expect(smokeCheck(green, gateway, '/api/catalog/products', limits)).rejects.toThrow(
      'GET /api/catalog/products answered 500 (call 3 of 10)',
    );
    expect(calls()).toBe(3);
    expect(Date.now() - started).toBeLessThan(limits.callTimeoutMs);
  });

  it('fails once the budget is spent when green never answers, naming the call', async () => {
    const { green, gateway, calls } = await platform(() => 'hang');
    const started = Date.now();
    await expect(smokeCheck(green, gateway, '/api/catalog/products', tight)).rejects.toThrow(
      /^GET \/api\/catalog\/products \(call 1 of 10\) did not answer within 1500 ms for the whole check \(\d+ tries, each up to 400 ms\)$/,
    );
    expect(Date.now() - started).toBeGreaterThanOrEqual(tight.budgetMs - 50);
    expect(calls()).toBeGreaterThanOrEqual(3);
  });

  it('asks a call the gateway shed (503 GATEWAY.OVERLOADED) again after its Retry-After, and says so', async () => {
    // The edge's adaptive limit refuses the third call before any instance sees it: nothing about green.
    const shed = { status: 503, code: 'GATEWAY.OVERLOADED' };
    const { green, gateway, calls } = await platform((call) => (call === 3 ? shed : 200));
    const started = Date.now();
    const summary = await smokeCheck(green, gateway, '/api/catalog/products', limits);
    expect(summary).toMatch(
      /all answered 2xx, served by green \(1 shed by the gateway and asked again after its Retry-After\)$/,
    );
    expect(calls()).toBe(SMOKE_CALLS + 1);
    expect(Date.now() - started).toBeGreaterThanOrEqual(1_000);
  });

  it('fails at once on any other 503, naming its code', async () => {
    const { green, gateway, calls } = await platform((call) =>
      call === 3 ? { status: 503, code: 'CATALOG.UNAVAILABLE' } : 200,
    );
    await expect(smokeCheck(green, gateway, '/api/catalog/products', limits)).rejects.toThrow(
      'GET /api/catalog/products answered 503 CATALOG.UNAVAILABLE (call 3 of 10)',
    );
    expect(calls()).toBe(3);
  });

  it('fails once the budget is spent while the gateway keeps shedding', async () => {
    const { green, gateway } = await platform(() => ({ status: 503, code: 'GATEWAY.OVERLOADED' }));
    await expect(
      smokeCheck(green, gateway, '/api/catalog/products', { ...limits, budgetMs: 2_500 }),
    ).rejects.toThrow(
      /^GET \/api\/catalog\/products \(call 1 of 10\) was shed by the gateway \(503 GATEWAY.OVERLOADED\) until the check's 2500 ms were spent \(\d asked again\)$/,
    );
  });

  it('fails when the calls answered 2xx but green did not serve them', async () => {
    const { green, gateway } = await platform(() => 204);
    await expect(smokeCheck(green, gateway, '/api/catalog/products', limits)).rejects.toThrow(
      'green served 0 of the 10 calls to /api/catalog/products: they did not reach it',
    );
  });

  it('fails at once when green refuses the connection', async () => {
    const { gateway } = await platform(() => 200);
    // A port that was just free: nothing listens on it.
    const closed = await serve(() => undefined);
    await new Promise((resolve) => servers.pop()?.close(resolve));
    const gone = [{ name: 'catalog-v2-1', url: closed }];
    await expect(smokeCheck(gone, gateway, undefined, limits)).rejects.toThrow(
      /^catalog-v2-1's \/readyz failed: fetch failed \(ECONNREFUSED\)$/,
    );
  });
});
