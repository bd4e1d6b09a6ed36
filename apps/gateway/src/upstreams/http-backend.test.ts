import { createServer, type Server } from 'node:http';
import { AppError } from '@mercato/chassis';
import { portOf } from '@mercato/chassis/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson } from './http-backend.ts';

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
      (backend) => backend.url ?? '',
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
});
