import { createServer, type Server } from 'node:http';
import { AppError, type Discovery } from '@mercato/chassis';
import { freePort, portOf } from '@mercato/chassis/testing';
import { Counter } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { backendAddresses } from './backend-address.ts';
import { getJson } from './http-backend.ts';

/** Discovery that knows one service's HTTP instances, as a list that tests may change. */
const listed = (addresses: string[]): Discovery => ({
  mode: 'static',
  endpoints: () => ({ current: () => addresses }),
  knows: () => true,
  start: () => undefined,
  ready: async () => undefined,
  stop: async () => undefined,
});

/** A backend that answers each path as the table says. */
const answers: Record<string, { status: number; headers?: Record<string, string>; body: unknown }> = {
  '/ok': { status: 200, body: { position: '7' } },
  '/behind': {
    status: 503,
    headers: { 'retry-after': '1' },
    body: { code: 'ORDER_VIEW.NOT_CAUGHT_UP', detail: 'order-view has not caught up', retryable: true },
  },
  '/dated': {
    status: 503,
    headers: { 'retry-after': 'Wed, 21 Oct 2026 07:28:00 GMT' },
    body: { code: 'X.DOWN', detail: 'down' },
  },
  '/broken': { status: 500, body: 'not json' },
};

describe('getJson (an http cluster read by the edge)', () => {
  let server: Server;
  let url = '';
  beforeAll(async () => {
    server = createServer((request, response) => {
      const answer = answers[request.url ?? ''] ?? { status: 404, body: {} };
      response.writeHead(answer.status, { 'content-type': 'application/json', ...answer.headers });
      response.end(typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${portOf(server)}`;
  });
  afterAll(() => new Promise((resolve) => server.close(resolve)));

  const read = (path: string) =>
    getJson(
      {
        name: 'order-view',
        protocol: 'http',
        backends: [{ name: 'order-view', service: undefined, url, weight: 1 }],
      },
      path,
      AbortSignal.timeout(2_000),
      backendAddresses(listed([])),
    );
  const failure = (path: string) =>
    read(path).then(
      () => undefined,
      (error: unknown) => error,
    );

  it('returns the document a backend answered', async () => {
    expect(await read('/ok')).toEqual({ position: '7' });
  });

  it("passes on a backend's problem: its code, its detail, its status and when to ask again", async () => {
    const error = await failure('/behind');
    expect(error).toBeInstanceOf(AppError);
    expect(error).toMatchObject({
      code: 'ORDER_VIEW.NOT_CAUGHT_UP',
      kind: 'unavailable',
      message: 'order-view has not caught up',
      retryable: true,
      retryAfterSeconds: 1,
    });
    expect(await failure('/dated')).toMatchObject({ code: 'X.DOWN', retryAfterSeconds: undefined });
  });

  it('answers a 500 that is not a problem document as a bad gateway named after the backend', async () => {
    expect(await failure('/broken')).toMatchObject({
      code: 'ORDER-VIEW.HTTP_500',
      kind: 'bad_gateway',
      message: 'order-view answered 500',
    });
  });

  it('sends a read that found nothing listening at an instance to the next one, and ejects the stopped instance', async () => {
    const stopped = `http://127.0.0.1:${await freePort()}`;
    const ejections = new Counter({
      name: 'test_ejections_total',
      help: 'ejections seen by the test',
      labelNames: ['dependency', 'reason'] as const,
      registers: [],
    });
    const addresses = backendAddresses(listed([stopped, url]), undefined, ejections);
    const readModel = {
      name: 'order-view',
      protocol: 'http' as const,
      backends: [{ name: 'order-view', service: 'order-view', url: undefined, weight: 1 }],
    };
    const answers = new Set<string>();
    for (let i = 0; i < 20; i += 1)
      answers.add(JSON.stringify(await getJson(readModel, '/ok', AbortSignal.timeout(2_000), addresses)));
    expect(answers).toEqual(new Set([JSON.stringify({ position: '7' })]));
    const counted = (await ejections.get()).values;
    expect(counted.find((value) => value.labels.reason === 'unreachable')?.value).toBeGreaterThanOrEqual(1);
    expect(counted.every((value) => value.labels.dependency === 'order-view')).toBe(true);
  });

  it('answers 503 naming the backend when every instance refused the connection', async () => {
    const addresses = backendAddresses(listed([`http://127.0.0.1:${await freePort()}`]));
    const error = await getJson(
      {
        name: 'order-view',
        protocol: 'http',
        backends: [{ name: 'order-view', service: 'order-view', url: undefined, weight: 1 }],
      },
      '/ok',
      AbortSignal.timeout(2_000),
      addresses,
    ).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ code: 'ORDER-VIEW.UNAVAILABLE', kind: 'unavailable' });
  });
});
