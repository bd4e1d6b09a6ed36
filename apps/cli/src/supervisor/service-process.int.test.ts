import { createServer, type Server } from 'node:http';
import { createLogger } from '@mercato/chassis/logging';
import { waitFor } from '@mercato/chassis/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { LogOutput } from './log-output.ts';
import { ServiceProcess } from './service-process.ts';

/** A service in a few lines: listens on PORT (0: the system's pick), says where over IPC, exits 1 if it cannot. */
const fakeService = `
const server = require('node:http').createServer((request, response) => response.end('ok'));
server.on('error', () => process.exit(1));
server.listen(Number(process.env.PORT || 0), '127.0.0.1', () =>
  process.send({ type: 'mercato.listening', http: 'http://127.0.0.1:' + server.address().port, grpc: null }));
process.on('disconnect', () => process.exit(0));
`;

const portOf = (url: string) => Number(new URL(url).port);

describe('a process that picks its own ports (MERCATO_PORTS=dynamic)', () => {
  const cleanup: Array<() => Promise<void>> = [];
  afterEach(async () => {
    for (const step of cleanup.splice(0).reverse()) await step();
  });

  const start = () => {
    const child = new ServiceProcess({
      name: 'fake',
      cwd: process.cwd(),
      args: ['-e', fakeService],
      env: { PATH: process.env.PATH ?? '' },
      url: '',
      learnsAddresses: true,
      output: new LogOutput({ pretty: false, write: () => undefined }),
      logger: createLogger({ service: 'test', level: 'silent' }),
    });
    cleanup.push(() => child.stop(2_000));
    child.start();
    return child;
  };

  it('is found where it says it listens, and comes back there after kill -9', async () => {
    const child = start();
    await child.waitReady(10_000);
    const first = child.url;
    expect(portOf(first)).toBeGreaterThan(0);
    child.kill();
    await waitFor('a new process', async () => child.pid !== undefined && child.url !== '', 10_000, 20);
    await child.waitReady(10_000);
    expect(child.url).toBe(first);
  });

  it('is never taken for whatever answers at its old port: it picks a new one and says so', async () => {
    const child = start();
    await child.waitReady(10_000);
    const first = child.url;
    // Stopped (an operator's stop in the console), and meanwhile something else takes its port and
    // answers /readyz too.
    await child.hold(2_000);
    const stray: Server = createServer((_request, response) => response.end('ok'));
    await new Promise<void>((resolve) => stray.listen(portOf(first), '127.0.0.1', resolve));
    cleanup.push(() => new Promise((resolve) => stray.close(() => resolve())));
    // Started again: the old port is taken, that start dies before it is ready, the next picks anew.
    await child.resume();
    // resume() returns once an address answers; the restart that follows the failed start marks
    // its own process ready a moment later.
    await waitFor('the restarted process ready', async () => child.info().state === 'ready', 15_000, 20);
    expect(child.url).not.toBe('');
    expect(portOf(child.url)).not.toBe(portOf(first));
  }, 30_000);
});
