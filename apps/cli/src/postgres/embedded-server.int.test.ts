import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, syncFlags, walLevelFor } from './embedded-server.ts';

describe('how the embedded cluster is made durable', () => {
  it('syncs the file system at once on Linux and keeps PostgreSQL’s default elsewhere', () => {
    expect(syncFlags('linux')).toEqual({
      initdb: ['--sync-method=syncfs'],
      server: ['-c', 'recovery_init_sync_method=syncfs'],
    });
    // PostgreSQL built without syncfs() refuses the setting: the server would not start.
    for (const platform of ['darwin', 'win32', 'freebsd'] as const)
      expect(syncFlags(platform)).toEqual({ initdb: [], server: [] });
  });

  const folders: string[] = [];
  afterAll(async () => {
    for (const folder of folders) await rm(folder, { recursive: true, force: true });
  });

  it.runIf(process.platform === 'linux')(
    'creates a cluster with those flags, and the server runs with them',
    async () => {
      const folder = await mkdtemp(path.join(tmpdir(), 'mercato-embedded-'));
      folders.push(folder);
      const logs: string[] = [];
      const server = await startEmbeddedPostgres(folder, 25_941, {
        log: (message) => logs.push(message),
        onDied: () => undefined,
        onRestarted: () => undefined,
      });
      try {
        const client = new pg.Client({ ...server.admin, database: 'postgres' });
        await client.connect();
        try {
          const { rows } = await client.query<{ setting: string }>(
            "SELECT setting FROM pg_settings WHERE name = 'recovery_init_sync_method'",
          );
          expect(rows[0]?.setting).toBe('syncfs');
        } finally {
          await client.end();
        }
      } finally {
        await server.stop();
      }
      expect(logs.join('\n')).toContain('creating the embedded PostgreSQL cluster');
    },
    60_000,
  );
});

describe('the log level the embedded server runs with', () => {
  const folders: string[] = [];
  afterAll(async () => {
    for (const folder of folders) await rm(folder, { recursive: true, force: true });
  });

  it('is logical only for change capture, or while the cluster holds a replication slot', async () => {
    const databaseDir = await mkdtemp(path.join(tmpdir(), 'mercato-wal-'));
    folders.push(databaseDir);
    expect(await walLevelFor(databaseDir, false)).toBe('replica');
    expect(await walLevelFor(databaseDir, true)).toBe('logical');
    await mkdir(path.join(databaseDir, 'pg_replslot', 'mercato_legacy_cdc'), { recursive: true });
    expect(await walLevelFor(databaseDir, false)).toBe('logical');
  });

  it.runIf(process.platform === 'linux')(
    'runs at replica, at logical for a capture, and starts again after the capture left its slot',
    async () => {
      const folder = await mkdtemp(path.join(tmpdir(), 'mercato-embedded-'));
      folders.push(folder);
      const watch = { log: () => undefined, onDied: () => undefined, onRestarted: () => undefined };
      const started = async (logicalDecoding: boolean, work?: (client: pg.Client) => Promise<void>) => {
        const server = await startEmbeddedPostgres(folder, 25_942, { ...watch, logicalDecoding });
        try {
          const client = new pg.Client({ ...server.admin, database: 'postgres' });
          await client.connect();
          try {
            await work?.(client);
            return (await client.query<{ wal_level: string }>('SHOW wal_level')).rows[0]?.wal_level;
          } finally {
            await client.end();
          }
        } finally {
          await server.stop();
        }
      };
      expect(await started(false)).toBe('replica');
      expect(
        await started(true, async (client) => {
          await client.query("SELECT pg_create_logical_replication_slot('left_behind', 'pgoutput')");
        }),
      ).toBe('logical');
      // Below logical PostgreSQL would refuse to start with a logical slot in the cluster.
      expect(
        await started(false, async (client) => {
          await client.query("SELECT pg_drop_replication_slot('left_behind')");
        }),
      ).toBe('logical');
      expect(await started(false)).toBe('replica');
    },
    90_000,
  );
});
