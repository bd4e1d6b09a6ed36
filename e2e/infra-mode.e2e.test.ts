import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { probePostgres, suiteTitle, testPostgresUrl } from '@mercato/chassis/testing';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { PlatformProcess } from './support/platform-process.ts';

const postgres = await probePostgres();
const ports = { postgres: 25392, gateway: 18081, base: 14101, grpcBase: 15101 };
const prefix = `e2e${Date.now().toString(36)}_`;

describe.skipIf(!postgres.available)(
  suiteTitle('npm start in infra mode (DATABASE_URL set)', postgres),
  () => {
    let dataDir = '';

    afterAll(async () => {
      const admin = new pg.Client({ connectionString: testPostgresUrl() });
      await admin.connect();
      await admin.query(`DROP DATABASE IF EXISTS "${prefix}catalog" WITH (FORCE)`);
      await admin.query(`DROP DATABASE IF EXISTS "${prefix}messages" WITH (FORCE)`);
      await admin.query(`DROP ROLE IF EXISTS "${prefix}catalog"`);
      await admin.end();
      if (dataDir) await rm(dataDir, { recursive: true, force: true });
    });

    it('uses the given server, with its own database and role per service, and no embedded PostgreSQL', async () => {
      dataDir = await mkdtemp(path.join(tmpdir(), 'mercato-infra-'));
      const platform = new PlatformProcess(dataDir, ports, {
        DATABASE_URL: testPostgresUrl(),
        MERCATO_DB_PREFIX: prefix,
      });
      try {
        await platform.waitForLine(/all services ready in/, 30_000);
        const state = await platform.state();
        expect(state.postgres.pid).toBeNull();
        expect(state.services.catalog?.database).toBe(`${prefix}catalog`);
        const page = (await (
          await fetch(`http://127.0.0.1:${ports.gateway}/api/catalog/products`)
        ).json()) as {
          total: number;
        };
        expect(page.total).toBeGreaterThanOrEqual(50);

        const admin = new pg.Client({ connectionString: testPostgresUrl() });
        await admin.connect();
        const owner = await admin.query<{ owner: string }>(
          'SELECT pg_get_userbyid(datdba) AS owner FROM pg_database WHERE datname = $1',
          [`${prefix}catalog`],
        );
        await admin.end();
        expect(owner.rows[0]?.owner).toBe(`${prefix}catalog`);
      } finally {
        platform.child.kill('SIGINT');
        expect(await platform.exited()).toBe(0);
      }
    });
  },
);
