import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createService, type GrpcServer, type Service } from '@mercato/chassis';
import { selfSignedCertificate, startGrpcStub, startTokenIssuer } from '@mercato/chassis/testing';
import { CatalogService } from '@mercato/contracts/grpc/catalog';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../src/config.ts';
import { gatewayDefinition } from '../src/gateway.service.ts';
import { gatewayPeers } from './support/peers.ts';

const folder = mkdtempSync(path.join(tmpdir(), 'mercato-edge-tls-'));

const certificate = (name: string) => selfSignedCertificate(folder, name);

describe('the edge over TLS (GATEWAY_TLS_CERT_FILE, GATEWAY_TLS_KEY_FILE)', () => {
  let issuer: Awaited<ReturnType<typeof startTokenIssuer>>;
  let upstream: GrpcServer;
  let gateway: Service<GatewayConfig> | undefined;
  let environment: Record<string, string> = {};

  beforeAll(async () => {
    issuer = await startTokenIssuer();
    const stub = await startGrpcStub((router) =>
      router.service(CatalogService, {
        listCategories: () => ({ categories: [{ slug: 'tents', name: 'Tents' }] }),
      }),
    );
    upstream = stub.server;
    environment = {
      PORT: '0',
      LOG_LEVEL: 'silent',
      MERCATO_PEERS: gatewayPeers(stub.url),
      IDENTITY_URL: issuer.url,
    };
  });
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close(100);
    await issuer?.close();
    rmSync(folder, { recursive: true, force: true });
  });

  it('serves the API over HTTPS with the given certificate, to clients without one of their own', async () => {
    const edge = certificate('edge');
    gateway = await createService(gatewayDefinition, {
      ...environment,
      GATEWAY_TLS_CERT_FILE: edge.cert,
      GATEWAY_TLS_KEY_FILE: edge.key,
    });
    const url = await gateway.start();
    expect(url).toMatch(/^https:\/\/127\.0\.0\.1:\d+$/);
    const agent = new Agent({ connect: { ca: readFileSync(edge.cert, 'utf8') } });
    try {
      const answer = await request(`${url}/api/catalog/categories`, { dispatcher: agent });
      expect(answer.statusCode).toBe(200);
      expect(await answer.body.json()).toMatchObject({ items: [{ slug: 'tents' }] });
      // Plain HTTP on that port is not served.
      await expect(request(url.replace(/^https:/, 'http:'))).rejects.toThrow();
    } finally {
      await agent.close();
    }
  });

  it('refuses to start with half a setting or a key of another certificate, naming it', async () => {
    const edge = certificate('half');
    const other = certificate('other');
    await expect(
      createService(gatewayDefinition, { ...environment, GATEWAY_TLS_CERT_FILE: edge.cert }),
    ).rejects.toThrow(/GATEWAY_TLS_CERT_FILE and GATEWAY_TLS_KEY_FILE go together/);
    await expect(
      createService(gatewayDefinition, {
        ...environment,
        GATEWAY_TLS_CERT_FILE: edge.cert,
        GATEWAY_TLS_KEY_FILE: other.key,
      }),
    ).rejects.toThrow(/GATEWAY_TLS_KEY_FILE .*other\.key is not the key of .*half\.crt/);
  });
});
