import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { createLogger } from '../logging/create-logger.ts';
import { httpInstances, httpOutcome } from './discovery.ts';
import { DnsNames } from './dns-names.ts';
import { RegistryWatch } from './registry-watch.ts';
import { peerTable, StaticPeers } from './static-peers.ts';

const logger = createLogger({ service: 'discovery-test', level: 'silent' });

describe('static peers (MERCATO_PEERS)', () => {
  const parse = (text: string) => z.object({ peers: peerTable() }).safeParse({ peers: text });

  it('names gRPC servers bare and HTTP APIs with /http, several instances separated by spaces', () => {
    const parsed = parse(
      'customer=http://127.0.0.1:5001 http://127.0.0.1:5002,identity/http=http://127.0.0.1:4000/',
    );
    expect(parsed.success).toBe(true);
    const peers = new StaticPeers(parsed.data?.peers ?? new Map());
    expect(peers.endpoints('customer', 'grpc').current()).toEqual([
      'http://127.0.0.1:5001',
      'http://127.0.0.1:5002',
    ]);
    expect(peers.endpoints('identity', 'http').current()).toEqual(['http://127.0.0.1:4000']);
    expect(peers.knows('identity', 'grpc')).toBe(false);
    expect(peers.endpoints('order', 'grpc').current()).toEqual([]);
  });

  it('refuses what is not a name and an address, quoting it', () => {
    for (const bad of [
      'customer',
      'Customer=http://a:1',
      'customer=ftp://a:1',
      'customer=http://a:1/path',
      'customer=http://a',
      'customer=http://:80',
      'customer=http://a:99999',
      'customer=http://u:p@a:1',
      'customer=http://a:1?x=1',
      'x/tcp=http://a:1',
      'customer=http://a:1,customer=http://b:1',
    ]) {
      const parsed = parse(bad);
      expect(parsed.success, bad).toBe(false);
      expect(parsed.error?.issues[0]?.message).toMatch(
        /^expected name\[\/http\]=http:\/\/host:port entries separated by commas; ".*" (is not|needs|names)/,
      );
    }
  });
});

describe('DNS names (Kubernetes)', () => {
  it('appends the domain and the fixed port of each protocol', () => {
    const dns = new DnsNames({ domain: 'mercato.svc.cluster.local', grpcPort: 50051, httpPort: 8080 });
    expect(dns.endpoints('catalog', 'grpc').current()).toEqual([
      'http://catalog.mercato.svc.cluster.local:50051',
    ]);
    expect(dns.endpoints('order-view', 'http').current()).toEqual([
      'http://order-view.mercato.svc.cluster.local:8080',
    ]);
    expect(
      new DnsNames({ domain: '', grpcPort: 1, httpPort: 2 }).endpoints('order', 'grpc').current(),
    ).toEqual(['http://order:1']);
  });
});

/** Revision 2 of a registry: catalog at two ready instances (one a canary at weight 0) and one starting, and order-view. */
const revision2 = {
  revision: 2,
  services: {
    catalog: [
      {
        instance: 'catalog',
        http: 'http://127.0.0.1:4001',
        grpc: 'http://127.0.0.1:5001',
        ready: true,
      },
      {
        instance: 'catalog-2',
        http: 'http://127.0.0.1:4002',
        grpc: 'http://127.0.0.1:5002',
        ready: false,
      },
      {
        instance: 'catalog-v2-1',
        http: 'http://127.0.0.1:4003',
        grpc: 'http://127.0.0.1:5003',
        ready: true,
        weight: 0,
        canary: true,
      },
    ],
    'order-view': [{ instance: 'order-view', http: 'http://127.0.0.1:4010', grpc: null, ready: true }],
  },
};

describe('the registry watch (embedded mode)', () => {
  let server: Server | undefined;
  let watch: RegistryWatch | undefined;
  afterEach(async () => {
    await watch?.stop();
    await new Promise((resolve) => (server ? server.close(resolve) : resolve(undefined)));
  });

  it('forgets what left: a service with no instance, and one gone from the registry', async () => {
    const snapshots = [revision2, { revision: 3, services: { catalog: [] } }];
    const asked: string[] = [];
    server = createServer((request, response) => {
      asked.push(request.headers.authorization ?? '');
      const after = Number(new URL(request.url ?? '/', 'http://x').searchParams.get('after'));
      const next = snapshots.find((snapshot) => snapshot.revision > after);
      if (!next) return; // a long poll with nothing new: left open until the test ends
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify(next));
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    watch = new RegistryWatch({ url, token: 't'.repeat(32), logger });
    const catalog = watch.endpoints('catalog', 'grpc');
    const orderView = watch.endpoints('order-view', 'http');
    expect(catalog.current()).toEqual([]);
    watch.start();
    await watch.ready(5_000);
    // Revision 3 (catalog emptied, order-view gone) follows 2 at once.
    await expect.poll(() => asked.length, { timeout: 5_000 }).toBeGreaterThanOrEqual(3);
    expect(catalog.current()).toEqual([]);
    expect(orderView.current()).toEqual([]);
    expect(asked[0]).toBe(`Bearer ${'t'.repeat(32)}`);
  });

  it('hands the instances of revision 2 before anything else changes', async () => {
    server = createServer((request, response) => {
      const after = Number(new URL(request.url ?? '/', 'http://x').searchParams.get('after'));
      if (after >= 2) return;
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify(revision2));
    });
    await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve));
    watch = new RegistryWatch({
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      token: 'x'.repeat(32),
      logger,
    });
    watch.start();
    await watch.ready(5_000);
    const catalog = watch.endpoints('catalog', 'grpc');
    expect(catalog.current()).toEqual(['http://127.0.0.1:5001', 'http://127.0.0.1:5003']);
    expect(catalog.weightOf?.('http://127.0.0.1:5003')).toBe(0);
    expect(catalog.isCanary?.('http://127.0.0.1:5003')).toBe(true);
    expect(watch.endpoints('catalog', 'http').current()).toEqual([
      'http://127.0.0.1:4001',
      'http://127.0.0.1:4003',
    ]);
    expect(watch.endpoints('order-view', 'grpc').current()).toEqual([]);
    const pick = (instances: ReturnType<typeof httpInstances>, preferCanary = false) => {
      const lease = instances.pick({ preferCanary });
      lease?.end('answered');
      return lease?.address;
    };
    const orderView = httpInstances(watch.endpoints('order-view', 'http'));
    expect([pick(orderView), pick(orderView)]).toEqual(['http://127.0.0.1:4010', 'http://127.0.0.1:4010']);
    // By weight: the canary at 0 % gets nothing, unless the request asks for the canary.
    const catalogHttp = httpInstances(watch.endpoints('catalog', 'http'));
    expect(new Set(Array.from({ length: 20 }, () => pick(catalogHttp)))).toEqual(
      new Set(['http://127.0.0.1:4001']),
    );
    expect(pick(catalogHttp, true)).toBe('http://127.0.0.1:4003');
  });
});

describe('httpOutcome', () => {
  it('counts a 5xx as a failure, any other answer as an answer, a refused connection as unreachable, an abandoned request as nothing', () => {
    expect(httpOutcome({ status: 200 })).toBe('answered');
    expect(httpOutcome({ status: 404 })).toBe('answered');
    expect(httpOutcome({ status: 503 })).toBe('failed');
    expect(
      httpOutcome({ error: Object.assign(new Error('refused'), { code: 'ECONNREFUSED' }), aborted: false }),
    ).toBe('unreachable');
    // A reset may come after the instance had the request: not safe to send elsewhere.
    expect(
      httpOutcome({ error: Object.assign(new Error('reset'), { code: 'ECONNRESET' }), aborted: false }),
    ).toBe('failed');
    expect(httpOutcome({ error: new Error('aborted'), aborted: true })).toBe('cancelled');
  });
});
