import { rm } from 'node:fs/promises';
import { setTimeout as sleep } from 'node:timers/promises';
import { parsePrometheusText, sampleValue, waitFor } from '@mercato/chassis/testing';
import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, PlatformProcess, superuserClient } from './support/platform-process.ts';
import { platformDataDir } from './support/platform-template.ts';
import { ShopClient } from './support/shop-client.ts';

// Ports of their own (the overload bench uses 25422 and 19480 on the same range).
const ports = { postgres: 25423, gateway: 19481, base: 16431, grpcBase: 17431 };
const gateway = `http://127.0.0.1:${ports.gateway}`;

interface Answer {
  status: number;
  retryAfter: string | null;
  contentType: string;
  body: { order_id?: string; code?: string; status?: number; title?: string };
}

/**
 * Overload is refused, not queued: a burst far above what the platform confirms, checked for safety
 * only (timings live in bench/overload). Every answer is 202, or a refusal — 503 for what the edge or
 * the order service cannot take now, 429 for a customer over their quota — with Retry-After and a
 * problem document; every accepted order is in the order service's store and ends confirmed or
 * cancelled; the gateway's circuit to order stays closed (load shedding is not a failure).
 */
describe('a burst of orders above capacity', () => {
  let dataDir = '';
  let platform: PlatformProcess;
  let shop: ShopClient;
  let orderDb: pg.Client;
  const stragglers: number[] = [];

  beforeAll(async () => {
    dataDir = await platformDataDir('overload');
    platform = new PlatformProcess(dataDir, ports, {
      // A small placement limit so that the burst is well above it whatever the machine's speed.
      ORDER_PLACEMENT_LIMIT_INITIAL: '3',
      ORDER_PLACEMENT_LIMIT_MIN: '1',
      ORDER_PLACEMENT_LIMIT_MAX: '3',
      // A small quota per customer, so the burst also meets the rate limit (429).
      GATEWAY_RATE_LIMIT_DEFAULT: 'token_bucket:12/60000',
      GATEWAY_RATE_LIMIT_CREDENTIALS: 'off',
      FULFILLMENT_WORKERS: '0',
    });
    await platform.waitForLine(/all services ready in/, 120_000);
    const state = await platform.state();
    stragglers.push(state.supervisor_pid, ...Object.values(state.services).map((s) => s.pid ?? 0));
    shop = await ShopClient.connect(gateway, dataDir, () => platform.state());
    orderDb = await superuserClient(dataDir, ports.postgres, 'order');
  }, 180_000);

  afterAll(async () => {
    await orderDb?.end();
    platform?.child.kill('SIGINT');
    await Promise.race([platform?.exited(), sleep(15_000)]);
    for (const pid of stragglers) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
  });

  it('refuses what it cannot take with 503/429, Retry-After and a problem; loses nothing it accepted', async () => {
    const tokens: string[] = [];
    for (let index = 0; index < 4; index += 1)
      tokens.push(await shop.customer(`overload-${index}@mercato.test`));

    // Three waves of 40 orders sent at once, half a second apart: 120 orders, ~30 per customer.
    const answers: Answer[] = [];
    const waves: Promise<void>[] = [];
    for (let wave = 0; wave < 3; wave += 1) {
      for (let index = 0; index < 40; index += 1)
        waves.push(
          shop
            .placeOrder(tokens[index % tokens.length] as string, `overload-${wave}-${index}-key`, [
              { sku: 'BOK-0001', quantity: 1 },
            ])
            .then(async (response) => {
              answers.push({
                status: response.status,
                retryAfter: response.headers.get('retry-after'),
                contentType: response.headers.get('content-type') ?? '',
                body: (await response.json()) as Answer['body'],
              });
            }),
        );
      await sleep(500);
    }
    await Promise.all(waves);

    const accepted = answers.filter((answer) => answer.status === 202);
    const refused = answers.filter((answer) => answer.status !== 202);
    expect(answers).toHaveLength(120);
    // The burst met both the limits, and some orders got through.
    expect(accepted.length).toBeGreaterThan(0);
    expect(refused.some((answer) => answer.status === 503)).toBe(true);
    expect(refused.some((answer) => answer.status === 429)).toBe(true);
    for (const answer of refused) {
      expect([503, 429]).toContain(answer.status);
      expect(answer.retryAfter).toMatch(/^\d+$/);
      expect(answer.contentType).toMatch(/^application\/problem\+json/);
      expect(answer.body).toMatchObject({ status: answer.status, code: expect.any(String) });
    }
    const codes = new Set(refused.filter((a) => a.status === 503).map((a) => a.body.code));
    for (const code of codes) expect(['ORDER.OVERLOADED', 'GATEWAY.OVERLOADED']).toContain(code);

    // Nothing accepted is lost, and every accepted order ends.
    const ids = accepted.map((answer) => answer.body.order_id as string);
    const streams = ids.map((id) => `order-${id}`);
    const { rows: stored } = await orderDb.query<{ stream_id: string }>(
      'SELECT DISTINCT stream_id FROM es_events WHERE stream_id = ANY($1::text[])',
      [streams],
    );
    expect(stored.map((row) => row.stream_id).sort()).toEqual([...streams].sort());
    await waitFor(
      'every accepted order confirmed or cancelled',
      async () => {
        const { rows } = await orderDb.query<{ n: number }>(
          `SELECT count(DISTINCT stream_id)::int AS n FROM es_events
            WHERE stream_id = ANY($1::text[]) AND event_type IN ('OrderConfirmed', 'OrderCancelled', 'OrderFailed')`,
          [streams],
        );
        return rows[0]?.n === streams.length;
      },
      60_000,
      250,
    );

    // Shedding did not open the gateway's circuit to order.
    const families = parsePrometheusText(await (await fetch(`${gateway}/metrics`)).text());
    expect(sampleValue(families, 'rpc_client_breaker_state', { dependency: 'order' })).toBe(0);
  }, 120_000);
});
