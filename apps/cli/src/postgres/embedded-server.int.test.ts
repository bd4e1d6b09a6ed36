import { mkdir, mkdtemp, readdir, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import {
  socketDirectoryFor,
  socketRefusedIn,
  startEmbeddedPostgres,
  syncFlags,
  walLevelFor,
} from './embedded-server.ts';
import { provisionDatabases } from './provision-databases.ts';

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

describe('the services’ connections to the embedded server', () => {
  it('go through a Unix-domain socket in the data folder when its path fits, else over TCP', () => {
    expect(socketDirectoryFor('/home/me/mercato/.mercato/postgres', 25_432, 'linux')).toBe(
      '/home/me/mercato/.mercato/postgres',
    );
    expect(socketDirectoryFor('/home/me/mercato/.mercato/postgres', 25_432, 'win32')).toBeUndefined();
    // A relative data folder (MERCATO_DATA_DIR=data) gives an absolute one: a client reads a relative
    // `host` as a host name.
    expect(socketDirectoryFor('data/postgres', 25_432, 'linux')).toBe(path.resolve('data/postgres'));
    // `<folder>/.s.PGSQL.25432` must fit in a socket address: 107 bytes on Linux, 103 on macOS.
    const deep = `/${'d'.repeat(107 - '/.s.PGSQL.25432'.length - 1)}`;
    expect(socketDirectoryFor(deep, 25_432, 'linux')).toBe(deep);
    expect(socketDirectoryFor(`${deep}x`, 25_432, 'linux')).toBeUndefined();
    expect(socketDirectoryFor(deep, 25_432, 'darwin')).toBeUndefined();
    expect(socketDirectoryFor('/tmp/é'.padEnd(85, 'é'), 25_432, 'linux')).toBeUndefined(); // bytes, not characters
    // PostgreSQL reads unix_socket_directories as a list: a comma, a quote or a space would split it.
    for (const folder of ['/tmp/a,b', '/tmp/a b', '/tmp/a"b', "/tmp/a'b", '/tmp/a\\b'])
      expect(socketDirectoryFor(folder, 25_432, 'linux')).toBeUndefined();
  });

  const folders: string[] = [];
  afterAll(async () => {
    for (const folder of folders) await rm(folder, { recursive: true, force: true });
  });

  it.runIf(process.platform !== 'win32')(
    'are over TCP where no socket can be made in the folder, which a probe finds before PostgreSQL starts',
    async () => {
      const folder = await mkdtemp(path.join(tmpdir(), 'mercato-probe-'));
      folders.push(folder);
      expect(await socketRefusedIn(folder)).toBeUndefined();
      expect(await readdir(folder)).toEqual([]); // the probe's socket is gone
      // A folder where bind() fails, as on a file system without sockets: the reason, not a throw.
      expect(await socketRefusedIn(path.join(folder, 'missing'))).toMatch(/^E[A-Z]+$/);
    },
  );

  it.runIf(process.platform !== 'win32')(
    'reach their own database through the socket, with their password, and no other',
    async () => {
      const folder = await mkdtemp(path.join(tmpdir(), 'mercato-embedded-'));
      folders.push(folder);
      const server = await startEmbeddedPostgres(folder, 25_943, {
        log: () => undefined,
        onDied: () => undefined,
        onRestarted: () => undefined,
      });
      try {
        expect(server.socketDirectory).toBe(path.join(folder, 'postgres'));
        const [alpha, beta] = await provisionDatabases({
          admin: { ...server.admin, database: 'postgres' },
          host: server.admin.host,
          port: server.admin.port,
          socketDirectory: server.socketDirectory,
          prefix: 'socket_',
          services: ['alpha', 'beta'],
          exclusive: true,
        });
        if (!alpha || !beta) throw new Error('expected two databases');
        expect(new URL(alpha.url).searchParams.get('host')).toBe(server.socketDirectory);
        const client = new pg.Client({ connectionString: alpha.url });
        await client.connect();
        try {
          // No server address: the connection is not over TCP.
          const { rows } = await client.query<{ address: string | null; user: string }>(
            'SELECT inet_server_addr() AS address, current_user AS user',
          );
          expect(rows[0]).toEqual({ address: null, user: 'socket_alpha' });
        } finally {
          await client.end();
        }
        const wrongPassword = new URL(alpha.url);
        wrongPassword.password = 'not-it';
        await expect(
          new pg.Client({ connectionString: wrongPassword.toString() }).connect(),
        ).rejects.toMatchObject({ code: '28P01' });
        const otherDatabase = new URL(alpha.url);
        otherDatabase.pathname = `/${beta.database}`;
        await expect(
          new pg.Client({ connectionString: otherDatabase.toString() }).connect(),
        ).rejects.toMatchObject({ code: '42501' });
      } finally {
        await server.stop();
      }
    },
    60_000,
  );
});
