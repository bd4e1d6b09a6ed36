import type { ConnectRouter } from '@connectrpc/connect';
import { createService, type GrpcServer, type Service } from '@mercato/chassis';
import { startGrpcStub } from '@mercato/chassis/testing';
import { CatalogService } from '@mercato/contracts/grpc/catalog';
import { IdentityService } from '@mercato/contracts/grpc/identity';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../src/config.ts';
import { gatewayDefinition } from '../src/gateway.service.ts';
import { fitInFixedWindow } from './support/fixed-window.ts';
import { gatewayPeers } from './support/peers.ts';

const routes = (router: ConnectRouter) => {
  router.service(CatalogService, {
    listCategories: () => ({ categories: [{ slug: 'books', name: 'Books' }] }),
  });
  router.service(IdentityService, { getJwks: () => ({ keys: [] }) });
};

const WINDOW_MS = 60_000;

describe('rate limits at the gateway', () => {
  let upstream: GrpcServer;
  const gateways: Array<Service<GatewayConfig>> = [];
  let direct = '';
  let behindProxy = '';

  beforeAll(async () => {
    const stub = await startGrpcStub(routes);
    upstream = stub.server;
    const grpcUrl = stub.url;
    const start = async (extra: Record<string, string>) => {
      const gateway = await createService(gatewayDefinition, {
        PORT: '0',
        LOG_LEVEL: 'silent',
        MERCATO_PEERS: gatewayPeers(grpcUrl),
        IDENTITY_URL: 'http://127.0.0.1:9',
        GATEWAY_RATE_LIMIT_DEFAULT: `fixed_window:10/${WINDOW_MS}`,
        ...extra,
      });
      gateways.push(gateway);
      return gateway.start();
    };
    direct = await start({});
    behindProxy = await start({ GATEWAY_TRUSTED_PROXIES: '127.0.0.1' });
  });
  afterAll(async () => {
    for (const gateway of gateways) await gateway.stop();
    await upstream.close(100);
  });

  const burst = async (base: string) => {
    // A fixed window is a calendar minute: a burst that straddles its end gets the next 10 too
    // (20 of 50 once in CI). Start where a whole burst fits before the boundary.
    await fitInFixedWindow(WINDOW_MS, 10_000);
    const statuses: number[] = [];
    let refused: Response | undefined;
    for (let i = 0; i < 50; i += 1) {
      const response = await fetch(`${base}/api/catalog/categories`, {
        headers: { 'x-forwarded-for': `203.0.113.${i}` },
      });
      statuses.push(response.status);
      if (response.status === 429) refused ??= response;
    }
    return { statuses, refused };
  };

  it('does not let an untrusted peer escape the limit by rotating X-Forwarded-For', async () => {
    const { statuses, refused } = await burst(direct);
    expect(statuses.filter((status) => status === 200)).toHaveLength(10);
    expect(statuses.filter((status) => status === 429)).toHaveLength(40);
    expect(refused?.headers.get('retry-after')).toMatch(/^\d+$/);
    expect(refused?.headers.get('ratelimit-limit')).toBe('10');
    expect(refused?.headers.get('ratelimit-remaining')).toBe('0');
    expect(refused?.headers.get('content-type')).toContain('application/problem+json');
    expect(await refused?.json()).toMatchObject({ code: 'GATEWAY.RATE_LIMITED', status: 429 });
  });

  it('keys by the forwarded client address when the peer is a trusted proxy', async () => {
    const { statuses } = await burst(behindProxy);
    expect(statuses.every((status) => status === 200)).toBe(true);
  });

  it('does not limit health and metrics endpoints', async () => {
    for (let i = 0; i < 15; i += 1) expect((await fetch(`${direct}/healthz`)).status).toBe(200);
  });
});
