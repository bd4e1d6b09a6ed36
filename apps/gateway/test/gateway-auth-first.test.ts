import { createService, type GrpcServer, type Service } from '@mercato/chassis';
import { startGrpcStub, startTokenIssuer } from '@mercato/chassis/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../src/config.ts';
import { gatewayDefinition } from '../src/gateway.service.ts';
import { gatewayPeers } from './support/peers.ts';

interface Operation {
  method: string;
  path: string;
}

/**
 * Every route the API declares as needing a token answers an anonymous caller 401 before anything
 * else, whatever it sent: a stranger learns nothing of a protected route's rules (no 400 naming a
 * header it lacks, no 404 for an id it made up).
 */
describe('authentication before validation', () => {
  let issuer: Awaited<ReturnType<typeof startTokenIssuer>>;
  let upstream: GrpcServer;
  let gateway: Service<GatewayConfig>;
  let url = '';
  let protectedOperations: Operation[] = [];

  beforeAll(async () => {
    issuer = await startTokenIssuer();
    // Serves nothing: any call that got this far would fail with a 5xx, never a 401.
    const stub = await startGrpcStub(() => undefined);
    upstream = stub.server;
    const grpc = stub.url;
    gateway = await createService(gatewayDefinition, {
      PORT: '0',
      LOG_LEVEL: 'silent',
      MERCATO_PEERS: gatewayPeers(grpc),
      IDENTITY_URL: issuer.url,
    });
    url = await gateway.start();
    const document = (await (await fetch(`${url}/docs/json`)).json()) as {
      paths: Record<string, Record<string, { security?: Array<Record<string, unknown>> }>>;
    };
    protectedOperations = Object.entries(document.paths).flatMap(([path, item]) =>
      Object.entries(item)
        .filter(([, operation]) => operation.security?.some((scheme) => 'bearer' in scheme))
        .map(([method, _]) => ({ method: method.toUpperCase(), path })),
    );
  });
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close(100);
    await issuer?.close();
  });

  /** The operation asked the worst way: every parameter invalid, an unexpected body, no headers. */
  const askBadly = (operation: Operation, headers: Record<string, string> = {}) => {
    const path = operation.path.replace(/\{[^}]+\}/g, 'x$y');
    const hasBody = ['POST', 'PUT', 'PATCH'].includes(operation.method);
    return fetch(`${url}${path}?page_size=-1&min_version=x&limit=0&as_of=never&from=1`, {
      method: operation.method,
      headers: { ...(hasBody ? { 'content-type': 'application/json' } : {}), ...headers },
      ...(hasBody ? { body: '{"unexpected": true}' } : {}),
    });
  };

  it('finds the protected routes in the OpenAPI document', () => {
    expect(protectedOperations).toEqual(
      expect.arrayContaining([
        { method: 'POST', path: '/api/orders' },
        { method: 'GET', path: '/api/orders/{id}' },
        { method: 'GET', path: '/api/orders/live' },
        { method: 'GET', path: '/api/customers/{id}/dashboard' },
      ]),
    );
    expect(protectedOperations.length).toBeGreaterThanOrEqual(15);
  });

  it('answers 401 to every one of them without a token, whatever else is wrong', async () => {
    for (const operation of protectedOperations) {
      const response = await askBadly(operation);
      expect(response.status, `${operation.method} ${operation.path}`).toBe(401);
      expect(await response.json()).toMatchObject({ code: 'AUTH.MISSING_TOKEN' });
    }
  });

  it('answers 401 to every one of them with a forged token, whatever else is wrong', async () => {
    const forged = `${(await issuer.tokenFor('usr_a')).slice(0, -4)}AAAA`;
    for (const operation of protectedOperations) {
      const response = await askBadly(operation, { authorization: `Bearer ${forged}` });
      expect(response.status, `${operation.method} ${operation.path}`).toBe(401);
      expect(await response.json()).toMatchObject({ code: 'AUTH.INVALID_TOKEN' });
    }
  });
});
