import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { context, propagation, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { HttpCallFailed, JsonHttpClient } from './json-http-client.ts';

type Handler = (request: IncomingMessage, response: ServerResponse, body: string, nth: number) => void;

/** A real HTTP server counting its connections and the requests on each. */
async function serve(handler: Handler) {
  let connections = 0;
  const server: Server = createServer((request, response) => {
    const socket = request.socket as typeof request.socket & { served?: number };
    socket.served = (socket.served ?? 0) + 1;
    let body = '';
    request.on('data', (chunk: Buffer) => {
      body += chunk.toString();
    });
    request.on('end', () => handler(request, response, body, socket.served ?? 1));
  });
  server.on('connection', () => {
    connections += 1;
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/base`;
  return {
    url,
    connections: () => connections,
    close: () => {
      server.closeAllConnections();
      return new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

const json = (response: ServerResponse, status: number, value: unknown) => {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(value));
};

describe('JsonHttpClient', () => {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const closers: Array<() => Promise<void>> = [];
  beforeAll(() => provider.register());
  afterEach(async () => {
    for (const close of closers.splice(0)) await close();
    exporter.reset();
  });
  afterAll(async () => {
    await provider.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
  });
  const started = async (handler: Handler) => {
    const server = await serve(handler);
    closers.push(server.close);
    return server;
  };

  it('sends JSON under the base path and reads JSON back, on one kept-alive connection', async () => {
    const seen: string[] = [];
    const server = await started((request, response, body) => {
      seen.push(`${request.method} ${request.url} ${request.headers['content-type'] ?? '-'} ${body}`);
      json(response, 201, { echoed: body ? JSON.parse(body) : null });
    });
    const client = new JsonHttpClient(server.url, { timeoutMs: 2_000 });
    closers.push(async () => client.close());
    const answer = await client.request({ method: 'POST', path: '/v1/things?x=1', body: { a: 1 } });
    expect(answer).toEqual({ status: 201, body: { echoed: { a: 1 } } });
    await client.request({ method: 'GET', path: '/v1/things/1' });
    await client.request({ method: 'GET', path: '/v1/things/2' });
    expect(seen).toEqual([
      'POST /base/v1/things?x=1 application/json {"a":1}',
      'GET /base/v1/things/1 - ',
      'GET /base/v1/things/2 - ',
    ]);
    expect(server.connections()).toBe(1);
  });

  it('gives an empty or non-JSON answer as no body, with its status', async () => {
    const server = await started((request, response) => {
      response.writeHead(request.url?.endsWith('/empty') ? 204 : 502, { 'content-type': 'text/html' });
      response.end(request.url?.endsWith('/empty') ? undefined : '<html>bad gateway</html>');
    });
    const client = new JsonHttpClient(server.url, { timeoutMs: 2_000 });
    expect(await client.request({ method: 'GET', path: '/empty' })).toEqual({ status: 204, body: undefined });
    expect(await client.request({ method: 'GET', path: '/html' })).toEqual({ status: 502, body: undefined });
  });

  it('makes a client span under a traced caller and carries its context to the server', async () => {
    let traceparent: string | undefined;
    const server = await started((request, response) => {
      traceparent = request.headers.traceparent as string | undefined;
      json(response, 402, { error: { code: 'card_declined' } });
    });
    const client = new JsonHttpClient(server.url, { timeoutMs: 2_000 });
    const tracer = trace.getTracer('json-http-client-test');
    await tracer.startActiveSpan('caller', async (parent) => {
      await client.request({
        method: 'POST',
        path: '/v1/things/42/capture',
        route: '/v1/things/{id}/capture',
      });
      parent.end();
    });
    const span = exporter.getFinishedSpans().find((each) => each.kind === SpanKind.CLIENT);
    const caller = exporter.getFinishedSpans().find((each) => each.name === 'caller');
    expect(span?.name).toBe('POST /v1/things/{id}/capture');
    expect(span?.parentSpanContext?.spanId).toBe(caller?.spanContext().spanId);
    expect(span?.attributes).toMatchObject({
      'http.request.method': 'POST',
      'url.full': `${server.url}/v1/things/42/capture`,
      'server.address': '127.0.0.1',
      'http.response.status_code': 402,
      'error.type': '402',
    });
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
    expect(traceparent).toBe(`00-${span?.spanContext().traceId}-${span?.spanContext().spanId}-01`);
  });

  it('makes no span outside a traced operation', async () => {
    const server = await started((_request, response) => json(response, 200, {}));
    await new JsonHttpClient(server.url, { timeoutMs: 2_000 }).request({ method: 'GET', path: '/' });
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it('ends a call with no answer at its timeout, and one the caller aborts at once', async () => {
    const server = await started(() => {
      // never answers
    });
    const client = new JsonHttpClient(server.url, { timeoutMs: 150 });
    const begun = performance.now();
    await expect(client.request({ method: 'GET', path: '/slow' })).rejects.toThrow(
      new HttpCallFailed('GET /slow had no answer within 150 ms'),
    );
    expect(performance.now() - begun).toBeLessThan(1_000);
    const patient = new JsonHttpClient(server.url, { timeoutMs: 60_000 });
    const caller = new AbortController();
    const call = patient.request({ method: 'GET', path: '/slow', signal: caller.signal });
    setTimeout(() => caller.abort(), 50);
    await expect(call).rejects.toThrow('GET /slow was aborted by the caller');
    await expect(
      patient.request({ method: 'GET', path: '/slow', signal: AbortSignal.abort() }),
    ).rejects.toThrow('was aborted by the caller');
  });

  it('refuses an answer larger than a mebibyte instead of holding it', async () => {
    const server = await started((_request, response) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(`"${'x'.repeat(2 * 1024 * 1024)}"`);
    });
    const client = new JsonHttpClient(server.url, { timeoutMs: 5_000 });
    await expect(client.request({ method: 'GET', path: '/huge' })).rejects.toThrow(
      'GET /huge answered more than 1048576 bytes',
    );
  });

  it('sends a repeatable call again when a kept-alive connection was closed under it, and no other', async () => {
    // The server drops each connection when its second request arrives, before answering, as a
    // server that closed an idle connection while the request was on its way looks to the client.
    const server = await started((_request, response, _body, nth) => {
      if (nth === 2) response.socket?.destroy();
      else json(response, 200, { nth });
    });
    const client = new JsonHttpClient(server.url, { timeoutMs: 2_000, maxSockets: 1 });
    await client.request({ method: 'GET', path: '/first' });
    expect(await client.request({ method: 'GET', path: '/again' })).toEqual({
      status: 200,
      body: { nth: 1 },
    });
    expect(server.connections()).toBe(2);
    expect(
      await client.request({ method: 'POST', path: '/keyed', headers: { 'idempotency-key': 'k-1' } }),
    ).toEqual({ status: 200, body: { nth: 1 } });
    expect(server.connections()).toBe(3);
    await expect(client.request({ method: 'POST', path: '/unkeyed' })).rejects.toMatchObject({
      code: 'ECONNRESET',
    });
    expect(server.connections()).toBe(3);
  });

  it('reaches a server at an IPv6 address', async (test) => {
    const server = createServer((_request, response) => json(response, 200, { over: 'ipv6' }));
    const listening = await new Promise<boolean>((resolve) => {
      server.once('error', () => resolve(false));
      server.listen(0, '::1', () => resolve(true));
    });
    if (!listening) test.skip('no IPv6 loopback on this machine');
    closers.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
    const client = new JsonHttpClient(`http://[::1]:${(server.address() as AddressInfo).port}`, {
      timeoutMs: 2_000,
    });
    expect(await client.request({ method: 'GET', path: '/' })).toEqual({
      status: 200,
      body: { over: 'ipv6' },
    });
    client.close();
  });

  it('names a base URL it cannot use', () => {
    expect(() => new JsonHttpClient('ftp://example.com', { timeoutMs: 1 })).toThrow(
      'ftp://example.com is not an http:// or https:// URL',
    );
  });
});
