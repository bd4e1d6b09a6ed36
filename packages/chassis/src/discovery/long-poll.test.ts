import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getJson } from './long-poll.ts';

describe('getJson: a long poll over Node http', () => {
  let server: Server;
  let url: string;
  const seen: Array<string | undefined> = [];
  beforeAll(async () => {
    server = createServer((request, response) => {
      seen.push(request.headers.authorization);
      if (request.url === '/slow') return void setTimeout(() => response.end('{"late":true}'), 1_500);
      if (request.url === '/missing') return void response.writeHead(404).end('no');
      if (request.url === '/broken') return void response.end('{not json');
      response.setHeader('content-type', 'application/json');
      response.end(JSON.stringify({ revision: 3 }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it('answers the body as JSON, with the headers sent', async () => {
    const never = new AbortController().signal;
    expect(await getJson(`${url}/ok`, { authorization: 'Bearer t' }, never)).toEqual({ revision: 3 });
    expect(seen.at(-1)).toBe('Bearer t');
  });

  it('waits as long as the answer takes: no timeout of its own', async () => {
    expect(await getJson(`${url}/slow`, {}, new AbortController().signal)).toEqual({ late: true });
  });

  it('fails naming the status, and on a body that is not JSON', async () => {
    const never = new AbortController().signal;
    await expect(getJson(`${url}/missing`, {}, never)).rejects.toThrow('the registry answered 404');
    await expect(getJson(`${url}/broken`, {}, never)).rejects.toThrow(SyntaxError);
  });

  it('ends when its signal aborts', async () => {
    // Without the abort the slow answer would come (resolve) 1.5 s later.
    await expect(getJson(`${url}/slow`, {}, AbortSignal.timeout(100))).rejects.toThrow(/abort/i);
  });

  it('fails when nothing listens', async () => {
    await expect(getJson('http://127.0.0.1:1/none', {}, new AbortController().signal)).rejects.toThrow(
      /ECONNREFUSED/,
    );
  });
});
