import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { startEmbeddedPostgres, syncFlags } from './embedded-server.ts';

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
