import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { copyFileSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { connect } from 'node:tls';
import type { ConnectRouter } from '@connectrpc/connect';
import { CatalogService } from '@mercato/contracts/grpc/catalog';
import { Agent, request } from 'undici';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import {
  authorizationInterceptor,
  type CallAuthorizer,
  loadCallAuthorizer,
} from '../src/authorization/call-authorizer.ts';
import { createGrpcClient } from '../src/grpc/grpc-client.ts';
import { createGrpcServer, type GrpcServer } from '../src/grpc/grpc-server.ts';
import { createHttpServer } from '../src/http/create-http-server.ts';
import { JsonHttpClient } from '../src/http-client/json-http-client.ts';
import { createLogger } from '../src/logging/create-logger.ts';
import { createServiceMetrics } from '../src/metrics/service-metrics.ts';
import { defaultPolicySettings } from '../src/resilience/dependency-policy.ts';
import { selfSignedCertificate } from '../src/testing/self-signed-certificate.ts';
import { waitFor } from '../src/testing/wait-for.ts';
import { loadServerCertificate, type ServerCertificateFiles } from '../src/tls/server-certificate.ts';
import { parseSpiffeId, spiffeIdOfCertificate } from '../src/tls/spiffe-id.ts';
import { configureHttpsClient, presentWorkloadCertificate } from '../src/tls/workload-https.ts';
import {
  loadWorkloadTls,
  readTlsMaterial,
  type TlsFiles,
  type WorkloadTls,
} from '../src/tls/workload-tls.ts';

const logger = createLogger({ service: 'mtls-test', level: 'silent' });
const folder = mkdtempSync(path.join(tmpdir(), 'mercato-mtls-unit-'));
const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: folder, stdio: 'pipe' });
const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes'];

/** A CA in `<name>.crt`/`<name>.key` (openssl: the platform's own CA is the supervisor's). */
function certificateAuthority(name: string): void {
  openssl(
    'req',
    '-x509',
    ...ec,
    '-keyout',
    `${name}.key`,
    '-out',
    `${name}.crt`,
    '-days',
    '1',
    '-subj',
    `/CN=${name}`,
  );
}

/** A workload certificate for `identity` signed by `ca`, as `<file>.crt` and `<file>.key`. */
function workload(file: string, identity: string, ca = 'ca'): TlsFiles {
  openssl('req', ...ec, '-keyout', `${file}.key`, '-out', `${file}.csr`, '-subj', `/CN=${identity}`);
  writeFileSync(
    path.join(folder, `${file}.ext`),
    `subjectAltName=URI:spiffe://mercato.local/ns/test/sa/${identity}\n`,
  );
  openssl(
    'x509',
    '-req',
    '-in',
    `${file}.csr`,
    '-CA',
    `${ca}.crt`,
    '-CAkey',
    `${ca}.key`,
    '-CAcreateserial',
    '-out',
    `${file}.crt`,
    '-days',
    '1',
    '-extfile',
    `${file}.ext`,
  );
  return {
    certFile: path.join(folder, `${file}.crt`),
    keyFile: path.join(folder, `${file}.key`),
    caFile: path.join(folder, `${ca}.crt`),
  };
}

const policyYaml = (catalogCallers: string[]) => `version: 1
trustDomain: mercato.local
namespace: test
identities: [gateway, catalog, pricing]
services:
  catalog:
    grpc:
      mercato.catalog.v1.CatalogService/ListCategories: [${catalogCallers.join(', ')}]
  gateway: {}
  pricing: {}
`;

certificateAuthority('ca');
certificateAuthority('other-ca');

afterAll(() => rmSync(folder, { recursive: true, force: true }));

describe('SPIFFE ids', () => {
  it('reads the one spiffe:// URI SAN of a certificate, and nothing from none or two', () => {
    expect(
      spiffeIdOfCertificate('URI:spiffe://mercato.local/ns/embedded/sa/order, IP Address:127.0.0.1'),
    ).toEqual({
      id: 'spiffe://mercato.local/ns/embedded/sa/order',
      trustDomain: 'mercato.local',
      namespace: 'embedded',
      name: 'order',
    });
    expect(spiffeIdOfCertificate('DNS:order')).toBeUndefined();
    expect(
      spiffeIdOfCertificate('URI:spiffe://a/ns/x/sa/order, URI:spiffe://a/ns/x/sa/payment'),
    ).toBeUndefined();
    expect(parseSpiffeId('spiffe://mercato.local/ns/x/sa/Order')).toBeUndefined();
    expect(parseSpiffeId('spiffe://mercato.local/ns/x/sa/order/extra')).toBeUndefined();
  });
});

describe('a workload’s TLS files', () => {
  it('are taken only as a whole set: a key of another certificate or a certificate of another CA is named', () => {
    const order = workload('order', 'order');
    expect(readTlsMaterial(order).identity.name).toBe('order');
    const payment = workload('payment', 'payment');
    expect(() => readTlsMaterial({ ...order, keyFile: payment.keyFile })).toThrow(/is not the key of/);
    const stranger = workload('stranger', 'order', 'other-ca');
    expect(() => readTlsMaterial({ ...stranger, caFile: order.caFile })).toThrow(/is not signed by the CA/);
    expect(() => readTlsMaterial({ ...order, certFile: path.join(folder, 'missing.crt') })).toThrow(
      /TLS_CERT_FILE .*missing\.crt cannot be read \(ENOENT\)/,
    );
  });

  it('are followed as they are renewed in place, without polling', async () => {
    const files = workload('renewed', 'catalog');
    const tls = loadWorkloadTls(files, logger);
    try {
      const before = tls.current().cert;
      const renewals: string[] = [];
      tls.onRenewed((material) => renewals.push(material.identity.name));
      const next = workload('next', 'catalog');
      // As the supervisor does: the key first, then its certificate, each renamed over the old.
      copyFileSync(next.keyFile, `${files.keyFile}.tmp`);
      renameSync(`${files.keyFile}.tmp`, files.keyFile);
      copyFileSync(next.certFile, `${files.certFile}.tmp`);
      renameSync(`${files.certFile}.tmp`, files.certFile);
      await waitFor('the renewed certificate', async () => tls.current().cert !== before, 3_000, 20);
      expect(tls.current().cert).toBe(readFileSync(next.certFile, 'utf8'));
      expect(renewals).toEqual(['catalog']);
    } finally {
      tls.close();
    }
  });
});

describe('gRPC over mutual TLS with a call policy', () => {
  const servers: GrpcServer[] = [];
  const closers: (WorkloadTls | CallAuthorizer)[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.close(100);
    for (const closer of closers.splice(0)) closer.close();
  });
  const policyFile = path.join(folder, 'policy.yaml');
  const catalogRoutes = (router: ConnectRouter) =>
    router.service(CatalogService, {
      getProduct: () => ({}),
      listProducts: () => ({}),
      searchProducts: () => ({}),
      listCategories: () => ({ categories: [{ slug: 'tents', name: 'Tents' }] }),
    });

  const serve = async () => {
    writeFileSync(policyFile, policyYaml(['gateway']));
    const metrics = createServiceMetrics('catalog');
    const tls = loadWorkloadTls(workload('catalog-server', 'catalog'), logger);
    const authorizer = await loadCallAuthorizer({
      file: policyFile,
      service: 'catalog',
      logger,
      registry: metrics.registry,
    });
    closers.push(tls, authorizer);
    const server = createGrpcServer(catalogRoutes, logger, metrics.rpc, undefined, {
      tls,
      authorize: authorizationInterceptor(authorizer, 'catalog', metrics.registry),
    });
    servers.push(server);
    return { url: await server.listen('127.0.0.1', 0), metrics, authorizer };
  };
  const clientAs = (identity: string, url: string, peer = 'catalog') => {
    const tls = loadWorkloadTls(workload(`${identity}-client`, identity), logger);
    closers.push(tls);
    return createGrpcClient(CatalogService, {
      dependency: 'catalog',
      caller: identity,
      url,
      settings: { ...defaultPolicySettings, retryAttempts: 0 },
      logger,
      metrics: createServiceMetrics(identity).rpc,
      tls: { workload: tls, peer },
    }).client;
  };

  it('serves an allowed caller, refuses another identity with PERMISSION_DENIED (counted), and follows the policy file', async () => {
    const { url, metrics, authorizer } = await serve();
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    expect((await clientAs('gateway', url).listCategories({})).categories[0]?.slug).toBe('tents');
    const pricing = clientAs('pricing', url);
    await expect(pricing.listCategories({})).rejects.toMatchObject({
      kind: 'forbidden',
      code: 'CATALOG.CALL_NOT_ALLOWED',
    });
    expect(await metrics.registry.getSingleMetricAsString('rpc_server_denied_total')).toMatch(
      /rpc_server_denied_total\{[^}]*caller="pricing",rpc_method="mercato\.catalog\.v1\.CatalogService\/ListCategories"[^}]*\} 1/,
    );
    // A policy that allows pricing too applies from the next call; a broken file leaves it in force.
    writeFileSync(policyFile, policyYaml(['gateway', 'pricing']));
    expect(await authorizer.reload()).toBe(true);
    expect((await pricing.listCategories({})).categories).toHaveLength(1);
    writeFileSync(policyFile, 'version: 2\n');
    expect(await authorizer.reload()).toBe(false);
    expect((await pricing.listCategories({})).categories).toHaveLength(1);
  });

  it('refuses a server that is not the service the client meant to call', async () => {
    const { url } = await serve();
    const misdirected = clientAs('gateway', url, 'identity');
    const error = await misdirected.listCategories({}).then(
      () => undefined,
      (failure: unknown) => failure,
    );
    expect(error).toBeInstanceOf(Error);
    expect(JSON.stringify(error, Object.getOwnPropertyNames(error))).toMatch(/not identity/);
  });
});

describe('HTTP over mutual TLS (a port inside the mesh)', () => {
  const closers: WorkloadTls[] = [];
  afterAll(() => {
    for (const closer of closers.splice(0)) closer.close();
  });
  const tlsOf = (file: string, identity: string, ca = 'ca') => {
    const tls = loadWorkloadTls(workload(file, identity, ca), logger);
    closers.push(tls);
    return tls;
  };
  /** The status of a GET with `connect` (undici's TLS options), or the error's code. */
  const statusWith = async (url: string, connect: Agent.Options['connect']) => {
    const agent = new Agent({ connect });
    try {
      return (await request(url, { dispatcher: agent })).statusCode;
    } catch (error) {
      return (error as NodeJS.ErrnoException).code ?? String(error);
    } finally {
      await agent.close();
    }
  };

  it('refuses a client without a certificate or with another CA’s; the process’s own fetch presents its certificate', async () => {
    const metrics = createServiceMetrics('order-view');
    const app = createHttpServer({ logger, metrics, tls: tlsOf('view-server', 'order-view') });
    app.get('/hello', async () => ({ hello: 'mesh' }));
    const address = await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const url = `${address.replace(/^http:/, 'https:')}/hello`;
      const ca = readFileSync(path.join(folder, 'ca.crt'), 'utf8');
      // Its certificate names no host: these clients skip the host check to reach the client-certificate one.
      const anyHost = { ca, checkServerIdentity: () => undefined };
      // TLS 1.3: the client has sent its request when the server's alert ends the connection.
      expect(await statusWith(url, anyHost)).toBe('UND_ERR_SOCKET');
      const stranger = readTlsMaterial(workload('http-stranger', 'gateway', 'other-ca'));
      expect(await statusWith(url, { ...anyHost, cert: stranger.cert, key: stranger.key })).toBe(
        'UND_ERR_SOCKET',
      );
      const refused = await metrics.registry.getSingleMetricAsString('http_server_tls_refused_total');
      expect(refused).toMatch(/reason="ERR_SSL_PEER_DID_NOT_RETURN_A_CERTIFICATE"[^}]*\} 1/);
      expect(refused).toMatch(/reason="(?!ERR_SSL_PEER_DID_NOT)[A-Z_]+"[^}]*\} 1/);
      // A workload's process: its global fetch presents its certificate, and takes a server of its
      // trust domain by SPIFFE id rather than host name.
      presentWorkloadCertificate(tlsOf('view-client', 'gateway'));
      const answer = await fetch(url);
      expect(answer.status).toBe(200);
      expect(await answer.json()).toEqual({ hello: 'mesh' });
      // So do the connections the chassis's JSON client opens itself over node:https.
      const client = new JsonHttpClient(address.replace(/^http:/, 'https:'), { timeoutMs: 5_000 });
      expect(await client.request({ method: 'GET', path: '/hello' })).toEqual({
        status: 200,
        body: { hello: 'mesh' },
      });
      client.close();
      // And one told nothing (a process with no workload certificate) has no handshake.
      configureHttpsClient({});
      const bare = new JsonHttpClient(address.replace(/^http:/, 'https:'), { timeoutMs: 5_000 });
      await expect(bare.request({ method: 'GET', path: '/hello' })).rejects.toThrow();
      bare.close();
    } finally {
      await app.close();
    }
  });
});

describe('a public port over TLS (the edge)', () => {
  const edgeCertificate = (name: string): ServerCertificateFiles => {
    const { cert, key } = selfSignedCertificate(folder, name);
    return {
      certFile: cert,
      keyFile: key,
      names: { cert: 'GATEWAY_TLS_CERT_FILE', key: 'GATEWAY_TLS_KEY_FILE' },
    };
  };
  const fingerprintAt = (port: number, ca: string) =>
    new Promise<string>((resolve, reject) => {
      const socket = connect({ host: '127.0.0.1', port, ca }, () => {
        resolve(socket.getPeerCertificate().fingerprint256);
        socket.destroy();
      });
      socket.once('error', reject);
    });

  it('names a bad setting in one line', () => {
    const files = edgeCertificate('edge-bad');
    const other = edgeCertificate('edge-other');
    expect(() => loadServerCertificate({ ...files, keyFile: other.keyFile }, logger)).toThrow(
      /GATEWAY_TLS_KEY_FILE .*edge-other\.key is not the key of .*edge-bad\.crt/,
    );
    expect(() =>
      loadServerCertificate({ ...files, certFile: path.join(folder, 'none.crt') }, logger),
    ).toThrow(/GATEWAY_TLS_CERT_FILE .*none\.crt cannot be read \(ENOENT\)/);
  });

  it('serves HTTPS with the given certificate, asks for none, and takes a replaced one without a restart', async () => {
    const files = edgeCertificate('edge');
    const publicTls = loadServerCertificate(files, logger);
    const app = createHttpServer({ logger, metrics: createServiceMetrics('gateway'), publicTls });
    app.get('/hello', async () => ({ hello: 'edge' }));
    await app.listen({ host: '127.0.0.1', port: 0 });
    try {
      const { port } = app.server.address() as AddressInfo;
      const first = readFileSync(files.certFile, 'utf8');
      // A client trusting the certificate, with none of its own.
      const agent = new Agent({ connect: { ca: first } });
      const answer = await request(`https://127.0.0.1:${port}/hello`, { dispatcher: agent });
      expect(answer.statusCode).toBe(200);
      expect(await answer.body.json()).toEqual({ hello: 'edge' });
      await agent.close();
      // Replaced as certbot or cert-manager would: new files renamed over the old.
      const next = edgeCertificate('edge-next');
      copyFileSync(next.keyFile, `${files.keyFile}.tmp`);
      renameSync(`${files.keyFile}.tmp`, files.keyFile);
      copyFileSync(next.certFile, `${files.certFile}.tmp`);
      renameSync(`${files.certFile}.tmp`, files.certFile);
      const renewed = new X509Certificate(readFileSync(next.certFile, 'utf8')).fingerprint256;
      await waitFor(
        'the replaced certificate served',
        async () =>
          (await fingerprintAt(port, readFileSync(next.certFile, 'utf8')).catch(() => '')) === renewed,
        3_000,
        50,
      );
      // A process that knows the edge by its certificate (the supervisor at a loopback address)
      // takes exactly that one, whatever name it carries.
      configureHttpsClient({
        pinned: (host, pinnedPort) =>
          host === '127.0.0.1' && pinnedPort === String(port)
            ? readFileSync(files.certFile, 'utf8')
            : undefined,
      });
      expect((await fetch(`https://127.0.0.1:${port}/hello`)).status).toBe(200);
      configureHttpsClient({ pinned: () => first });
      await expect(fetch(`https://127.0.0.1:${port}/hello`)).rejects.toThrow();
    } finally {
      await app.close();
      publicTls.close();
    }
  });
});
