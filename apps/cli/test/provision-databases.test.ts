import { probePostgres, suiteTitle, testPostgresUrl } from '@mercato/chassis/testing';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { provisionDatabases } from '../src/postgres/provision-databases.ts';

const postgres = await probePostgres();
const prefix = `t${Date.now().toString(36)}_`;

const connectAs = async (url: string, database?: string) => {
  const target = new URL(url);
  if (database) target.pathname = `/${database}`;
  const client = new pg.Client({ connectionString: target.toString() });
  await client.connect();
  const { rows } = await client.query<{ user: string; db: string }>(
    'SELECT current_user AS user, current_database() AS db',
  );
  await client.end();
  return rows[0];
};

describe.skipIf(!postgres.available)(suiteTitle('database per service provisioning', postgres), () => {
  const admin = { connectionString: testPostgresUrl() };
  const server = new URL(testPostgresUrl());
  const provision = () =>
    provisionDatabases({
      admin,
      host: server.hostname,
      port: Number(server.port || 5432),
      prefix,
      services: ['alpha', 'beta-two'],
      exclusive: false,
    });

  afterAll(async () => {
    const client = new pg.Client(admin);
    await client.connect();
    for (const name of [`${prefix}alpha`, `${prefix}beta_two`]) {
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await client.query(`DROP ROLE IF EXISTS "${name}"`);
    }
    await client.end();
  });

  it('gives each service a role that reaches its own database and no other', async () => {
    const [alpha, beta] = await provision();
    if (!alpha || !beta) throw new Error('expected two databases');
    expect(alpha).toMatchObject({ database: `${prefix}alpha`, role: `${prefix}alpha` });
    expect(beta.database).toBe(`${prefix}beta_two`);

    expect(await connectAs(alpha.url)).toEqual({ user: `${prefix}alpha`, db: `${prefix}alpha` });
    await expect(connectAs(alpha.url, beta.database)).rejects.toMatchObject({ code: '42501' });
    await expect(connectAs(beta.url, alpha.database)).rejects.toMatchObject({ code: '42501' });
  });

  it('is repeatable: a second run keeps data and rotates passwords', async () => {
    const [first] = await provision();
    if (!first) throw new Error('expected a database');
    const client = new pg.Client({ connectionString: first.url });
    await client.connect();
    await client.query('CREATE TABLE IF NOT EXISTS kept (id int)');
    await client.query('INSERT INTO kept VALUES (1)');
    await client.end();

    const [second] = await provision();
    if (!second) throw new Error('expected a database');
    // The new password differs; that the old one stops working is checked in the e2e suite against
    // the embedded server, because this machine's server trusts loopback connections.
    expect(second.url).not.toBe(first.url);
    const again = new pg.Client({ connectionString: second.url });
    await again.connect();
    expect((await again.query('SELECT count(*)::int AS n FROM kept')).rows[0]).toEqual({ n: 1 });
    await again.end();
  });
});
