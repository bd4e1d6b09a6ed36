import { createHash, createHmac } from 'node:crypto';
import net from 'node:net';
import { create } from '@bufbuild/protobuf';
import type { ConnectRouter } from '@connectrpc/connect';
import { createService, type GrpcServer, type Service } from '@mercato/chassis';
import { startGrpcStub, startTokenIssuer } from '@mercato/chassis/testing';
import { CatalogService } from '@mercato/contracts/grpc/catalog';
import { CustomerSchema, CustomerService } from '@mercato/contracts/grpc/customer';
import { IdentityService } from '@mercato/contracts/grpc/identity';
import { exportJWK, generateKeyPair, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { GatewayConfig } from '../src/config.ts';
import { gatewayDefinition } from '../src/gateway.service.ts';
import { gatewayPeers } from './support/peers.ts';

const REQUEST_TIMEOUT_MS = 1_000;

type KeyPair = Awaited<ReturnType<typeof generateKeyPair>>;

const upstreamRoutes = (router: ConnectRouter) => {
  router.service(CatalogService, { listCategories: () => ({ categories: [] }) });
  router.service(IdentityService, {
    getJwks: () => ({ keys: [] }),
    login: () => ({ tokens: { accessToken: 'a', refreshToken: 'r', expiresIn: 900, tokenType: 'Bearer' } }),
  });
  router.service(CustomerService, {
    getCustomer: (request) => ({
      customer: create(CustomerSchema, { id: request.id, name: 'Ada', segment: 'standard' }),
    }),
  });
};

describe('the hardened edge', () => {
  let issuer: Awaited<ReturnType<typeof startTokenIssuer>>;
  let upstream: GrpcServer;
  let gateway: Service<GatewayConfig>;
  let url = '';
  let port = 0;
  let attacker: KeyPair;

  beforeAll(async () => {
    issuer = await startTokenIssuer();
    attacker = await generateKeyPair('EdDSA', { crv: 'Ed25519', extractable: true });

    const stub = await startGrpcStub(upstreamRoutes);
    upstream = stub.server;
    const grpcUrl = stub.url;
    gateway = await createService(gatewayDefinition, {
      PORT: '0',
      LOG_LEVEL: 'silent',
      GATEWAY_REQUEST_TIMEOUT_MS: String(REQUEST_TIMEOUT_MS),
      GATEWAY_CORS_ORIGINS: 'http://shop.example',
      MERCATO_PEERS: gatewayPeers(grpcUrl),
      IDENTITY_URL: issuer.url,
    });
    url = await gateway.start();
    port = Number(new URL(url).port);
  });
  afterAll(async () => {
    await gateway?.stop();
    await upstream?.close(100);
    await issuer?.close();
  });

  const now = () => Math.floor(Date.now() / 1000);
  const claims = (...args: Parameters<typeof issuer.claims>) => issuer.claims(...args);
  const sign = (...args: Parameters<typeof issuer.sign>) => issuer.sign(...args);
  const me = (token: string) =>
    fetch(`${url}/api/customers/me`, { headers: { authorization: `Bearer ${token}` } });
  const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

  /** Sends raw bytes and resolves with the status line and the body, and when the socket closed. */
  const raw = (request: string, trickle?: string) =>
    new Promise<{ status: string; body: string; closedAfterMs: number }>((resolve) => {
      const started = Date.now();
      const socket = net.connect(port, '127.0.0.1', () => socket.write(request));
      let received = '';
      let timer: NodeJS.Timeout | undefined;
      if (trickle) {
        let sent = 0;
        timer = setInterval(() => {
          if (!socket.writable || sent >= trickle.length) return;
          socket.write(trickle[sent] ?? '');
          sent += 1;
        }, 500);
      }
      socket.on('data', (chunk) => {
        received += chunk.toString();
      });
      socket.on('error', () => undefined);
      socket.on('close', () => {
        clearInterval(timer);
        const [head = '', body = ''] = received.split('\r\n\r\n');
        resolve({ status: head.split('\r\n')[0] ?? '', body, closedAfterMs: Date.now() - started });
      });
    });

  it('accepts a token signed by identity', async () => {
    const response = await me(await sign(claims()));
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ id: 'usr_a' });
  });

  it('answers every forged or broken token with 401 and never a 5xx', async () => {
    const valid = await sign(claims());
    const [header, payload, signature] = valid.split('.');
    const hmac = (alg: 'HS256', secret: string) => {
      const head = b64({ alg, typ: 'JWT', kid: 'k1' });
      const body = b64(claims());
      const mac = createHmac('sha256', secret).update(`${head}.${body}`).digest('base64url');
      return `${head}.${body}.${mac}`;
    };
    const forgeries: Record<string, string> = {
      'alg none': `${b64({ alg: 'none', typ: 'JWT' })}.${b64(claims())}.`,
      'alg None': `${b64({ alg: 'None', typ: 'JWT' })}.${b64(claims())}.`,
      'alg none with a signature': `${b64({ alg: 'none' })}.${b64(claims())}.${signature}`,
      'HS256 keyed with the public key': hmac('HS256', issuer.publicJwk.x ?? ''),
      'HS256 keyed with the whole JWK': hmac('HS256', JSON.stringify(issuer.publicJwk)),
      expired: await sign(claims({ iat: now() - 7200, exp: now() - 3600 })),
      'not yet valid (nbf)': await sign(claims({ nbf: now() + 3600 })),
      'wrong audience': await sign(claims({ aud: 'someone-else' })),
      'missing audience': await sign(claims({ aud: undefined })),
      'wrong issuer': await sign(claims({ iss: 'https://evil.example' })),
      'missing issuer': await sign(claims({ iss: undefined })),
      'tampered payload': `${header}.${b64({ ...claims(), sub: 'usr_admin', roles: ['admin'] })}.${signature}`,
      'unknown kid': await sign(claims(), { kid: 'k-unknown' }),
      'path-like kid': await sign(claims(), { kid: '../../../../etc/passwd' }),
      'jku to an attacker key set': await new SignJWT(claims())
        .setProtectedHeader({ alg: 'EdDSA', kid: 'k1', jku: 'http://evil.example/jwks.json' })
        .sign(attacker.privateKey),
      'embedded attacker jwk': await new SignJWT(claims())
        .setProtectedHeader({
          alg: 'EdDSA',
          kid: 'k1',
          jwk: await exportJWK(attacker.publicKey),
        })
        .sign(attacker.privateKey),
      '16 KB token': await sign(claims({ padding: 'x'.repeat(16 * 1024) })),
      'not a JWT': 'definitely-not-a-token',
      'signature of another token': `${header}.${payload}.${createHash('sha512').update('x').digest('base64url')}`,
    };
    const outcomes: Record<string, number> = {};
    for (const [name, token] of Object.entries(forgeries)) outcomes[name] = (await me(token)).status;
    expect(outcomes).toEqual(Object.fromEntries(Object.keys(forgeries).map((name) => [name, 401])));
    expect((await fetch(`${url}/api/customers/me`)).status).toBe(401);
  });

  it('refuses a 2 MiB body with 413', async () => {
    const response = await fetch(`${url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ email: 'a@b.c', password: 'x'.repeat(2 * 1024 * 1024) }),
    });
    expect(response.status).toBe(413);
    expect(response.headers.get('content-type')).toContain('application/problem+json');
  });

  it.each([
    ['Transfer-Encoding: xchunked', 'Transfer-Encoding: xchunked\r\n'],
    ['Transfer-Encoding: gzip, chunked', 'Transfer-Encoding: gzip, chunked\r\n'],
    ['Content-Length with Transfer-Encoding', 'Content-Length: 4\r\nTransfer-Encoding: chunked\r\n'],
    ['two Content-Lengths', 'Content-Length: 4\r\nContent-Length: 5\r\n'],
  ])('answers ambiguous framing (%s) with 400 problem+json', async (_name, headers) => {
    const answer = await raw(
      `POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n${headers}\r\n4\r\n{}\r\n\r\n0\r\n\r\n`,
    );
    expect(answer.status).toBe('HTTP/1.1 400 Bad Request');
    expect(JSON.parse(answer.body)).toMatchObject({ status: 400 });
  });

  it('cuts a body trickled at 1 byte / 500 ms within the request timeout + 1 s', async () => {
    const answer = await raw(
      'POST /api/auth/login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n',
      `{"email":"a@b.c","password":"${'x'.repeat(100)}`,
    );
    expect(answer.status).toBe('HTTP/1.1 408 Request Timeout');
    // Node checks request deadlines once a second, so the cut lands between 1× and 2× the timeout.
    expect(answer.closedAfterMs).toBeLessThan(REQUEST_TIMEOUT_MS + 1_000 + 250);
  });

  it('sends security headers and allows CORS for the storefront origin only', async () => {
    const response = await fetch(`${url}/api/catalog/categories`);
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect(response.headers.get('x-frame-options')).toBe('SAMEORIGIN');
    const preflight = (origin: string) =>
      fetch(`${url}/api/cart/quote`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'POST',
          'access-control-request-headers': 'content-type',
        },
      });
    expect((await preflight('http://shop.example')).headers.get('access-control-allow-origin')).toBe(
      'http://shop.example',
    );
    expect((await preflight('http://evil.example')).headers.get('access-control-allow-origin')).toBeNull();
    // An OPTIONS that is no preflight is refused as every bad request is: a problem, not plain text.
    const bare = await fetch(`${url}/api/cart/quote`, { method: 'OPTIONS' });
    expect(bare.status).toBe(400);
    expect(bare.headers.get('content-type')).toContain('application/problem+json');
    expect(((await bare.json()) as { code: string }).code).toBe('HTTP.NOT_A_PREFLIGHT');
  });
});
