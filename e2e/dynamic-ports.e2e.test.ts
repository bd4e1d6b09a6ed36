import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { describe, expect, it } from 'vitest';
import { mercato } from './support/release-cli.ts';
import { kept, ShopClient } from './support/shop-client.ts';
import { suitePlatform } from './support/suite-platform.ts';

// Only PostgreSQL's port is given (the database server is not a service); every other port is the
// system's pick. The fixed ones below are there to show they are not used.
const ports = { postgres: 25429, gateway: 19080, base: 16001, grpcBase: 17001 };

/** What the shop talks to outside itself: their addresses are handed to their callers, as a real provider's would be. */
const outsideWorld = new Set(['payment-provider', 'carrier', 'smtp-sink']);

/** A process's environment as the kernel has it (what it was started with). */
async function environmentOf(pid: number): Promise<Record<string, string>> {
  const raw = await readFile(`/proc/${pid}/environ`, 'utf8');
  return Object.fromEntries(
    raw
      .split('\0')
      .filter(Boolean)
      .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
  );
}

const portOf = (url: string) => Number(new URL(url).port);

describe('the platform with every port dynamic (MERCATO_PORTS=dynamic)', () => {
  const suite = suitePlatform('dynamic-ports', ports, {
    MERCATO_PORTS: 'dynamic',
    MERCATO_REPLICAS: 'catalog=2',
    GATEWAY_RATE_LIMIT_DEFAULT: 'off',
    GATEWAY_RATE_LIMIT_CREDENTIALS: 'off',
  });

  it('listens only on ports the system picked, each process on its own', async () => {
    const state = await suite.platform.state();
    const listening = Object.values(state.services).flatMap((entry) => [
      portOf(entry.url),
      ...(entry.grpc ? [portOf(entry.grpc)] : []),
    ]);
    listening.push(portOf(state.supervisor.url));
    expect(new Set(listening).size).toBe(listening.length);
    const [low, high] = (await readFile('/proc/sys/net/ipv4/ip_local_port_range', 'utf8'))
      .trim()
      .split(/\s+/)
      .map(Number);
    for (const port of listening) {
      expect(port).toBeGreaterThanOrEqual(low ?? 32768);
      expect(port).toBeLessThanOrEqual(high ?? 60999);
    }
    expect(listening).not.toContain(ports.gateway);
  });

  it("gives no service another service's address: only the registry's, and the outside world's", async () => {
    const state = await suite.platform.state();
    const services = Object.entries(state.services);
    for (const [name, entry] of services) {
      if (!entry.pid) throw new Error(`${name} has no pid in the run state`);
      const environment = await environmentOf(entry.pid);
      expect(Object.keys(environment).filter((key) => key.endsWith('_GRPC_URL'))).toEqual([]);
      expect(environment.MERCATO_DISCOVERY).toBe('registry');
      const text = Object.values(environment).join('\n');
      for (const [other, address] of services) {
        if (other === name || outsideWorld.has(address.service)) continue;
        for (const url of [address.url, address.grpc].filter((value): value is string => Boolean(value)))
          expect(text, `${name} is handed ${other}'s address ${url}`).not.toContain(
            `127.0.0.1:${portOf(url)}`,
          );
      }
    }
  });

  it('still finds everything: an order crosses every service, the read models and identity’s keys answer', async () => {
    const state = await suite.platform.state();
    const gateway = state.services.gateway?.url ?? '';
    const shop = await ShopClient.connect(gateway, suite.dataDir, () => suite.platform.state());
    const email = `dynamic-${randomUUID().slice(0, 8)}@example.com`;
    const token = await shop.customer(email);
    const placed = await shop.placeOrderPatiently(token, randomUUID(), [{ sku: 'BOK-0001', quantity: 1 }]);
    expect(placed.status, await placed.clone().text()).toBe(202);
    const { order_id: orderId } = (await placed.json()) as { order_id: string };
    // pricing → customer, order → pricing, inventory, payment → the provider: all by name.
    // Confirmed, or already on its way: fulfillment may ship it before the first look.
    const settled = await shop.settled(token, orderId, 60_000);
    expect(kept.has(settled.status), settled.status).toBe(true);
    // The gateway reads order-view and analytics by name over HTTP.
    const authorized = { headers: { authorization: `Bearer ${token}` } };
    const me = (await (await fetch(`${gateway}/api/customers/me`, authorized)).json()) as { id: string };
    const dashboard = await fetch(`${gateway}/api/customers/${me.id}/dashboard`, authorized);
    expect(dashboard.status).toBe(200);
    expect(((await dashboard.json()) as { degraded: unknown[] }).degraded).toEqual([]);
    // notification → customer and order by name, then the SMTP server it was handed.
    await expect
      .poll(async () => (await shop.mails(email)).length, { timeout: 60_000, interval: 500 })
      .toBeGreaterThan(0);
    // A service checks an identity token against identity's keys, found by name: a customer's
    // verified token lacks the admin role (403), where an unchecked one would be refused as 401.
    const order = state.services.order?.url ?? '';
    const refused = await fetch(`${order}/admin/dead-letters`, authorized);
    expect(refused.status).toBe(403);
    // The CLI finds pricing by the run's state: its discount engine's rewrite priced that order too, in shadow.
    const experiments = await mercato(suite.dataDir, ['experiments', 'pricing']);
    expect(experiments.code, experiments.output).toBe(0);
    expect(experiments.output).toMatch(
      /^discount-engine: shadow; [1-9]\d* compared, 0 differed, 0 candidate errors/m,
    );
  }, 180_000);
});
