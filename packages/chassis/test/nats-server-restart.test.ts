import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { createConnection } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { probe, probePostgres, suiteTitle } from '../src/testing/infra.ts';
import { waitFor } from '../src/testing/wait-for.ts';
import {
  crashDatabases,
  effectsOf,
  FIXTURE_STARTED_WITHIN_MS,
  finishPublishLoop,
  fixture,
} from './fixtures/crash-harness.ts';

// A NATS server of the test's own, so killing it disturbs no other suite.
const port = 4299;
const binary =
  process.env.MERCATO_NATS_SERVER_BIN ??
  ['/usr/sbin/nats-server', '/usr/bin/nats-server', '/usr/local/bin/nats-server'].find((candidate) =>
    existsSync(candidate),
  );
const postgres = await probePostgres();
const server = await probe('the nats-server binary', async () => {
  if (!binary) throw new Error('not found; set MERCATO_NATS_SERVER_BIN');
});

const portOpen = () =>
  new Promise<boolean>((resolve) => {
    const socket = createConnection({ host: '127.0.0.1', port }, () => {
      socket.end();
      resolve(true);
    });
    socket.on('error', () => resolve(false));
  });

describe.skipIf(!(postgres.available && server.available))(
  suiteTitle('messaging across a NATS server crash', server.available ? postgres : server),
  () => {
    let storeDir = '';
    let nats: ChildProcess | undefined;
    const startNats = async () => {
      nats = spawn(binary ?? 'nats-server', ['-a', '127.0.0.1', '-p', String(port), '-js', '-sd', storeDir], {
        stdio: 'ignore',
      });
      await waitFor('nats-server listening', portOpen, 10_000, 50);
    };
    const killNats = async () => {
      const running = nats;
      if (!running || running.exitCode !== null) return;
      const exited = new Promise((resolve) => running.once('exit', resolve));
      running.kill('SIGKILL');
      await exited;
    };

    beforeAll(async () => {
      storeDir = await mkdtemp(path.join(tmpdir(), 'mercato-nats-'));
      await startNats();
    });
    afterAll(async () => {
      await killNats();
      await rm(storeDir, { recursive: true, force: true });
    });

    it('loses no committed message when the NATS server is killed and restarted during a publish loop', async () => {
      const { env, servicePool, drop } = await crashDatabases();
      const natsEnv = { ...env, BUS: 'nats', NATS_URL: `nats://127.0.0.1:${port}`, TOPIC: 'restart.loop' };
      const consumer = fixture({ ...natsEnv, ROLE: 'consume' });
      const loop = fixture({ ...natsEnv, ROLE: 'relay-loop' });
      try {
        await consumer.waitForLine(/^consuming$/, FIXTURE_STARTED_WITHIN_MS);
        await loop.waitForLine(/^committed 30$/, 20_000);
        await killNats();
        await new Promise((resolve) => setTimeout(resolve, 1_000));
        await startNats();
        await finishPublishLoop(loop, natsEnv, servicePool, 60_000);
        expect((await effectsOf(servicePool)).filter((row) => row.n > 1)).toEqual([]);
      } finally {
        await consumer.kill();
        await loop.kill();
        await drop();
      }
    }, 150_000);
  },
);
