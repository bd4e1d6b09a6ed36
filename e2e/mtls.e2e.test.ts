import { X509Certificate } from 'node:crypto';
import { copyFile, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { connect } from 'node:tls';
import type { DescService } from '@bufbuild/protobuf';
import { Code, ConnectError, createClient } from '@connectrpc/connect';
import { createGrpcTransport } from '@connectrpc/connect-node';
import { selfSignedCertificate, waitFor } from '@mercato/chassis/testing';
import { CatalogService } from '@mercato/contracts/grpc/catalog';
import { CustomerService } from '@mercato/contracts/grpc/customer';
import { NotificationService } from '@mercato/contracts/grpc/notification';
import { OrderService } from '@mercato/contracts/grpc/order';
import { Agent, fetch as fetchWith, setGlobalDispatcher } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import {
  CertificateAuthority,
  type IssuedCertificate,
} from '../apps/cli/src/supervisor/certificate-authority.ts';
import { embeddedSpiffeId } from '../apps/cli/src/supervisor/workload-certificates.ts';
import { errorWindow, steadyLoad } from './support/edge-load.ts';
import { isAlive, PlatformProcess, repositoryRoot } from './support/platform-process.ts';
import { platformDataDir } from './support/platform-template.ts';
import { findPrometheus, PrometheusServer } from './support/prometheus-server.ts';
import { mercato } from './support/release-cli.ts';
import { kept, ShopClient } from './support/shop-client.ts';

// Ports of their own, so the suite runs beside a developer's `npm start` and the other e2e suites.
const ports = { postgres: 25438, gateway: 19381, base: 13401, grpcBase: 12401 };
// The edge serves TLS too, with a certificate of the operator's (GATEWAY_TLS_*).
const gateway = `https://127.0.0.1:${ports.gateway}`;
const PROMETHEUS_PORT = 19098;
const prometheus = findPrometheus();
/** Short enough that the load test below spans renewals (every 20 s), long enough for a slow machine. */
const CERT_TTL_S = 30;

type Credentials = { cert?: string; key?: string; ca: string };

/**
 * What a port does with a TLS client: `accepted` when, after the handshake and a first request
 * (HTTP/2's preface on a gRPC port, a GET on an HTTP one), the server speaks, or the TLS alert or
 * error it ended the connection with.
 */
function handshake(
  url: string,
  credentials: Credentials,
  protocol: 'grpc' | 'http' = 'grpc',
): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({
      host: hostname,
      port: Number(port),
      ...credentials,
      ...(protocol === 'grpc' ? { ALPNProtocols: ['h2'] } : {}),
      // The server's own identity is not what is tested here; its certificate names no host.
      checkServerIdentity: () => undefined,
    });
    const done = (outcome: string) => {
      clearTimeout(timer);
      socket.destroy();
      resolve(outcome);
    };
    const timer = setTimeout(() => done('no answer in 5 s'), 5_000);
    socket.once('secureConnect', () => {
      if (protocol === 'http') {
        socket.write('GET /healthz HTTP/1.1\r\nHost: mercato\r\nConnection: close\r\n\r\n');
        return;
      }
      const settings = Buffer.from([0, 0, 0, 4, 0, 0, 0, 0, 0]);
      socket.write(Buffer.concat([Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n'), settings]));
    });
    socket.once('data', () => done('accepted'));
    socket.once('error', (error: NodeJS.ErrnoException) => done(`refused: ${error.code ?? error.message}`));
    socket.once('close', () => done('refused: closed'));
  });
}

type EdgeCertificate = ReturnType<typeof selfSignedCertificate>;

/** The fingerprint of the certificate a new connection to `url` is shown. */
function edgeFingerprint(url: string): Promise<string> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port), rejectUnauthorized: false }, () => {
      resolve(socket.getPeerCertificate().fingerprint256);
      socket.destroy();
    });
    socket.once('error', () => resolve(''));
  });
}

describe('mutual TLS between the services (npm start -- --mtls)', () => {
  let dataDir = '';
  let edge: EdgeCertificate;
  let edgeNext: EdgeCertificate;
  let otherCaDir = '';
  let policyFile = '';
  let platform: PlatformProcess;
  let authority: CertificateAuthority;
  let ca = '';
  const stragglers: number[] = [];
  /** A client of one service's gRPC port presenting `certificate` (issued by the platform's CA). */
  const clientAs = async <S extends DescService>(
    service: S,
    name: string,
    certificate: IssuedCertificate,
  ) => {
    const url = (await platform.state()).services[name]?.grpc ?? '';
    return createClient(
      service,
      createGrpcTransport({
        baseUrl: url,
        nodeOptions: { ...certificate, ca, checkServerIdentity: () => undefined },
      }),
    );
  };
  const issueFor = (identity: string) =>
    authority.issue({ spiffeId: embeddedSpiffeId('mercato.local', identity), ttlMs: 600_000 });
  /** HTTPS to a service's HTTP port inside the mesh, presenting a certificate of the run's CA. */
  let mesh: Agent;
  const meshFetch = (url: string, headers: Record<string, string> = {}) =>
    fetchWith(url, { headers, dispatcher: mesh });

  beforeAll(async () => {
    dataDir = await platformDataDir('mtls');
    // The edge's certificate, and the one that replaces it in the renewal test: the test's own
    // HTTPS client trusts both, as a browser trusts the CA behind them.
    edge = selfSignedCertificate(dataDir, 'edge');
    const nextEdge = selfSignedCertificate(dataDir, 'edge-next');
    edgeNext = nextEdge;
    setGlobalDispatcher(
      new Agent({
        connect: { ca: [await readFile(edge.cert, 'utf8'), await readFile(nextEdge.cert, 'utf8')] },
      }),
    );
    otherCaDir = await mkdtemp(path.join(tmpdir(), 'mercato-other-ca-'));
    // The run's own copy of the policy, so that the reload test can change it.
    policyFile = path.join(dataDir, 'policy.yaml');
    await copyFile(path.join(repositoryRoot, 'deploy', 'policy.yaml'), policyFile);
    platform = new PlatformProcess(dataDir, ports, {
      MERCATO_MTLS: 'true',
      MERCATO_CERT_TTL_S: String(CERT_TTL_S),
      MERCATO_POLICY_FILE: policyFile,
      GATEWAY_TLS_CERT_FILE: edge.cert,
      GATEWAY_TLS_KEY_FILE: edge.key,
      GATEWAY_RATE_LIMIT_DEFAULT: 'off',
      GATEWAY_RATE_LIMIT_CREDENTIALS: 'off',
    });
    await platform.waitForLine(/all services ready in/, 120_000);
    const state = await platform.state();
    stragglers.push(state.supervisor_pid, ...Object.values(state.services).map((s) => s.pid ?? 0));
    // The test holds the run's CA (as anyone who can read the data directory could).
    authority = await CertificateAuthority.open(path.join(dataDir, 'tls'));
    ca = authority.certificatePem;
    mesh = new Agent({
      connect: { ...(await issueFor('supervisor')), ca, checkServerIdentity: () => undefined },
    });
  }, 150_000);

  afterAll(async () => {
    await mesh?.close();
    setGlobalDispatcher(new Agent());
    platform.child.kill('SIGINT');
    await Promise.race([platform.exited(), sleep(15_000)]);
    for (const pid of stragglers) if (isAlive(pid)) process.kill(pid, 'SIGKILL');
    await rm(dataDir, { recursive: true, force: true });
    await rm(otherCaDir, { recursive: true, force: true });
  });

  it('keeps the CA key and every workload key readable by their owner only', async () => {
    const { stat } = await import('node:fs/promises');
    const mode = async (file: string) =>
      ((await stat(path.join(dataDir, 'tls', file))).mode & 0o777).toString(8);
    expect(await mode('.')).toBe('700');
    expect(await mode('ca.key')).toBe('600');
    expect(await mode('workloads/order.key')).toBe('600');
  });

  it('every service’s gRPC and HTTP ports refuse a client without a certificate, with one of another CA, or an expired one', async () => {
    const services = Object.entries((await platform.state()).services).filter(([, entry]) => entry.grpc);
    expect(services.length).toBeGreaterThanOrEqual(10);
    const otherCa = await CertificateAuthority.open(otherCaDir);
    const foreign = await otherCa.issue({
      spiffeId: embeddedSpiffeId('mercato.local', 'gateway'),
      ttlMs: 600_000,
    });
    const expired = await authority.issue({
      spiffeId: embeddedSpiffeId('mercato.local', 'gateway'),
      ttlMs: 0,
      notBefore: new Date(Date.now() - 7_200_000),
      notAfter: new Date(Date.now() - 3_600_000),
    });
    const valid = await issueFor('gateway');
    const outcomes: Record<string, Record<string, string>> = {};
    for (const [name, entry] of services) {
      for (const [protocol, url] of [
        ['grpc', entry.grpc ?? ''],
        ['http', entry.url],
      ] as const) {
        expect(url, `${name} serves ${protocol} over TLS`).toMatch(/^https:\/\//);
        outcomes[`${name} ${protocol}`] = {
          none: await handshake(url, { ca }, protocol),
          foreign: await handshake(url, { ...foreign, ca }, protocol),
          expired: await handshake(url, { ...expired, ca }, protocol),
          valid: await handshake(url, { ...valid, ca }, protocol),
        };
      }
    }
    for (const [name, outcome] of Object.entries(outcomes)) {
      expect(outcome.none, `${name} without a certificate`).toMatch(/^refused: .*CERTIFICATE_REQUIRED/);
      // The server ends these handshakes when it checks the certificate (the client sees the
      // connection closed, at times with the alert): no byte of HTTP/2 comes back either way.
      expect(outcome.foreign, `${name} with another CA's certificate`).toMatch(/^refused: /);
      expect(outcome.expired, `${name} with an expired certificate`).toMatch(/^refused: /);
      expect(outcome.valid, `${name} with the platform's certificate`).toBe('accepted');
    }
    // Each refusal is counted by the server, by reason and port.
    const state = await platform.state();
    const metrics = await (await meshFetch(`${state.services.catalog?.url}/metrics`)).text();
    for (const port of ['rpc', 'http'])
      expect(metrics).toMatch(
        new RegExp(
          `${port}_server_tls_refused_total\\{[^}]*reason="ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE"[^}]*\\} [1-9]`,
        ),
      );
    // The public edge serves TLS with its own certificate and asks for none; the outside world's
    // simulators stay plain HTTP.
    expect(state.services.gateway?.url).toBe(gateway);
    expect(state.services['payment-provider']?.url).toMatch(/^http:\/\//);
    expect((await fetch(`${gateway}/healthz`)).status).toBe(200);
    expect(await handshake(gateway, { ca: await readFile(edge.cert, 'utf8') }, 'http')).toBe('accepted');
    await expect(fetch(gateway.replace(/^https:/, 'http:'))).rejects.toThrow();
    // The operator's commands reach a service's /admin/* with the supervisor's certificate.
    const listed = await mercato(dataDir, ['dead-letters', 'order', 'list']);
    expect(listed, listed.output).toMatchObject({ code: 0 });
  });

  it.skipIf('reason' in prometheus)(
    'is scraped by a real Prometheus with the config the supervisor wrote (HTTPS, the supervisor’s certificate)',
    async () => {
      if ('reason' in prometheus) return;
      const folder = await mkdtemp(path.join(tmpdir(), 'mercato-mtls-prometheus-'));
      const config = parse(await readFile(path.join(dataDir, 'run', 'prometheus.yml'), 'utf8')) as {
        global: Record<string, string>;
      };
      config.global.scrape_interval = '1s';
      const configFile = path.join(folder, 'prometheus.yml');
      await writeFile(configFile, stringify(config));
      const server = new PrometheusServer(prometheus.prometheus, {
        configFile,
        dataDir: path.join(folder, 'data'),
        port: PROMETHEUS_PORT,
      });
      try {
        await server.ready();
        const targets = await server.targetsUp(Object.keys((await platform.state()).services).length);
        // The services over HTTPS with the supervisor's certificate, the edge over its own TLS, the
        // simulators over plain HTTP.
        const scheme = (process: string) =>
          targets.find((target) => target.labels.process === process)?.scrapeUrl.split(':')[0];
        expect(
          targets.filter((target) => target.scrapeUrl.startsWith('https://')).length,
        ).toBeGreaterThanOrEqual(12);
        expect([scheme('order'), scheme('gateway'), scheme('payment-provider')]).toEqual([
          'https',
          'https',
          'http',
        ]);
      } finally {
        await server.stop();
        await rm(folder, { recursive: true, force: true });
      }
    },
  );

  it('answers a call the policy forbids with PERMISSION_DENIED, counted by caller and method', async () => {
    const denied = async (call: () => Promise<unknown>) => {
      try {
        await call();
        return 'answered';
      } catch (error) {
        return error instanceof ConnectError ? Code[error.code] : String(error);
      }
    };
    // notification may read customers, not the catalog.
    const notificationToCatalog = await clientAs(CatalogService, 'catalog', await issueFor('notification'));
    expect(await denied(() => notificationToCatalog.listProducts({ pageSize: 1 }))).toBe('PermissionDenied');
    // A valid service identity that has no business with orders reads none.
    const pricingToOrder = await clientAs(OrderService, 'order', await issueFor('pricing'));
    expect(await denied(() => pricingToOrder.getOrder({ orderId: 'ord_01M8ZXERTRK5AQG12ESQZ32PF7' }))).toBe(
      'PermissionDenied',
    );
    // What the policy allows goes through to the service (which knows no such customer).
    const notificationToCustomer = await clientAs(
      CustomerService,
      'customer',
      await issueFor('notification'),
    );
    expect(
      await denied(() => notificationToCustomer.getCustomer({ id: 'usr_01M8ZXERCQRE9KPM7DMW78Z21J' })),
    ).toBe('NotFound');
    const state = await platform.state();
    const metrics = await (await meshFetch(`${state.services.catalog?.url}/metrics`)).text();
    expect(metrics).toMatch(
      /rpc_server_denied_total\{[^}]*caller="notification"[^}]*rpc_method="mercato\.catalog\.v1\.CatalogService\/ListProducts"[^}]*\} 1/,
    );
  });

  it('takes a changed policy without a restart', async () => {
    const client = await clientAs(CatalogService, 'catalog', await issueFor('notification'));
    const original = await readFile(policyFile, 'utf8');
    const policy = parse(original) as { services: { catalog: { grpc: Record<string, string[]> } } };
    policy.services.catalog.grpc['mercato.catalog.v1.CatalogService/ListProducts']?.push('notification');
    const write = async (text: string) => {
      await writeFile(`${policyFile}.new`, text);
      await rename(`${policyFile}.new`, policyFile);
    };
    const catalogPid = (await platform.state()).services.catalog?.pid;
    await write(stringify(policy));
    await waitFor(
      'notification allowed to list products',
      async () =>
        await client.listProducts({ pageSize: 1 }).then(
          () => true,
          () => false,
        ),
      10_000,
      100,
    );
    await write(original);
    await waitFor(
      'notification refused again',
      async () =>
        await client.listProducts({ pageSize: 1 }).then(
          () => false,
          (error) => error instanceof ConnectError && error.code === Code.PermissionDenied,
        ),
      10_000,
      100,
    );
    expect((await platform.state()).services.catalog?.pid).toBe(catalogPid);
  });

  it('lets a service read a customer’s order, profile or mails only with that customer’s token, or as a caller the policy lets act for no user', async () => {
    const shop = await ShopClient.connect(gateway, dataDir, () => platform.state());
    const owner = `owner-${Date.now()}@example.com`;
    const ownerToken = await shop.customer(owner);
    const otherToken = await shop.customer(`other-${Date.now()}@example.com`);
    const products = (await (await fetch(`${gateway}/api/catalog/products?page_size=1`)).json()) as {
      items: { sku: string }[];
    };
    const placed = await shop.placeOrder(ownerToken, `mtls-${Date.now()}`, [
      { sku: products.items[0]?.sku ?? '', quantity: 1 },
    ]);
    expect(placed.status).toBe(202);
    const { order_id: orderId, customer_id: ownerId } = (await placed.json()) as {
      order_id: string;
      customer_id: string;
    };
    // Through the gateway, which passes the customer's token on: the whole saga, and its mail
    // (notification reads the order as the policy lets it, for no user).
    // Confirmed, or already on its way: fulfillment may ship it before the first look.
    const settled = (await shop.settled(ownerToken, orderId)).status;
    expect(kept.has(settled), settled).toBe(true);
    await waitFor('the confirmation mail', async () => (await shop.mails(owner)).length > 0, 30_000, 250);

    const outcome = (call: Promise<{ order?: { orderId: string } }>) =>
      call.then(
        (answer) => `order ${answer.order?.orderId === orderId ? 'read' : 'other'}`,
        (error) => (error instanceof ConnectError ? Code[error.code] : String(error)),
      );
    const asGateway = await clientAs(OrderService, 'order', await issueFor('gateway'));
    const bearer = (token: string) => ({ headers: { authorization: `Bearer ${token}` } });
    // A valid identity the policy allows, without the customer's token: nothing there.
    expect(await outcome(asGateway.getOrder({ orderId }))).toBe('NotFound');
    // Naming the user is not proving it.
    expect(
      await outcome(asGateway.getOrder({ orderId }, { headers: { 'x-mercato-user-id': ownerId } })),
    ).toBe('NotFound');
    expect(await outcome(asGateway.getOrder({ orderId }, bearer(otherToken)))).toBe('NotFound');
    expect(await outcome(asGateway.getOrder({ orderId }, bearer(ownerToken)))).toBe('order read');
    expect(await outcome(asGateway.getOrder({ orderId }, bearer('not.a.token')))).toBe('Unauthenticated');
    const events = await asGateway.listOrderEvents({ orderId }).then(
      () => 'read',
      (error) => Code[(error as ConnectError).code],
    );
    expect(events).toBe('NotFound');
    const asNotification = await clientAs(OrderService, 'order', await issueFor('notification'));
    expect(await outcome(asNotification.getOrder({ orderId }))).toBe('order read');

    // The same for a profile at customer, and for the mails at notification.
    const profile = async (identity: string, options = {}) =>
      (await clientAs(CustomerService, 'customer', await issueFor(identity)))
        .getCustomer({ id: ownerId }, options)
        .then(
          (answer) => (answer.customer?.email === owner ? 'profile read' : 'other'),
          (error) => Code[(error as ConnectError).code],
        );
    expect(await profile('gateway')).toBe('NotFound');
    expect(await profile('gateway', bearer(otherToken))).toBe('NotFound');
    expect(await profile('gateway', bearer(ownerToken))).toBe('profile read');
    expect(await profile('pricing')).toBe('profile read');
    const mails = await clientAs(NotificationService, 'notification', await issueFor('gateway'));
    expect((await mails.listNotifications({ customerId: ownerId, limit: 10 })).notifications).toHaveLength(0);
    expect(
      (await mails.listNotifications({ customerId: ownerId, limit: 10 }, bearer(ownerToken))).notifications
        .length,
    ).toBeGreaterThan(0);

    // The read models' HTTP APIs (which the gateway reads, passing the token on): the same terms.
    const state = await platform.state();
    const readModel = async (service: string, route: string, token?: string) =>
      (
        await meshFetch(
          `${state.services[service]?.url}${route}`,
          token ? { authorization: `Bearer ${token}` } : {},
        )
      ).status;
    for (const [service, route] of [
      ['order-view', `/customers/${ownerId}/orders`],
      ['order-view', `/customers/${ownerId}/orders/summary`],
      ['order-view', `/orders/${orderId}/summary`],
      ['analytics', `/customers/${ownerId}/recommendations`],
    ] as const) {
      expect(await readModel(service, route), `${service} ${route} without a token`).toBe(404);
      expect(await readModel(service, route, otherToken), `${service} ${route} as another`).toBe(404);
      expect(await readModel(service, route, ownerToken), `${service} ${route} as its customer`).toBe(200);
    }
    // And through the gateway, as the customer reads them.
    const mine = await fetch(`${gateway}/api/orders`, { headers: { authorization: `Bearer ${ownerToken}` } });
    expect(mine.status).toBe(200);
    expect(
      ((await mine.json()) as { orders: { order_id: string }[] }).orders.map((o) => o.order_id),
    ).toContain(orderId);
  });

  it('renews every certificate under load without a failed request', async () => {
    const shop = await ShopClient.connect(gateway, dataDir, () => platform.state());
    const token = await shop.customer(`mtls-${Date.now()}@example.com`);
    const read = () => fetch(`${gateway}/api/catalog/products?page_size=5`);
    const me = () => fetch(`${gateway}/api/customers/me`, { headers: { authorization: `Bearer ${token}` } });
    const count = (text: string) => platform.lines.filter((line) => line.includes(text)).length;
    // Renewals counted from here: the supervisor may have renewed once already before the load began.
    const issuedBefore = count('renewed the certificates of');
    const takenBefore = count('certificate renewed');
    const reads = steadyLoad(read, 30);
    const profiles = steadyLoad(me, 10);
    // Through the next renewal of every service's certificate (two thirds of the TTL after the last),
    // until each process has taken its new one (the chassis logs it: services and gateway alike).
    await waitFor(
      'a renewal of every certificate under the load',
      async () => count('renewed the certificates of') > issuedBefore,
      CERT_TTL_S * 1000,
      250,
    );
    await waitFor(
      'every process on its new certificate',
      async () => count('certificate renewed') - takenBefore >= 12,
      10_000,
      250,
    );
    // And the edge's certificate replaced under the same load (as certbot would), taken by the
    // gateway for its next handshakes and by the supervisor's probes, which pin it.
    const nextFingerprint = new X509Certificate(await readFile(edgeNext.cert, 'utf8')).fingerprint256;
    await copyFile(edgeNext.key, `${edge.key}.tmp`);
    await rename(`${edge.key}.tmp`, edge.key);
    await copyFile(edgeNext.cert, `${edge.cert}.tmp`);
    await rename(`${edge.cert}.tmp`, edge.cert);
    await waitFor(
      'the edge serving its new certificate',
      async () => (await edgeFingerprint(gateway)) === nextFingerprint,
      10_000,
      250,
    );
    await sleep(3_000);
    await Promise.all([reads.stop(), profiles.stop()]);
    const outcome = errorWindow([...reads.outcomes, ...profiles.outcomes], Date.now());
    expect(outcome.requests).toBeGreaterThan(100);
    expect(outcome, JSON.stringify(outcome.statuses)).toMatchObject({ errors: 0 });
  });
});
