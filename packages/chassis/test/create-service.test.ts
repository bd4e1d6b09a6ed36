import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { databaseConfigShape, env, serviceConfigShape } from '../src/config/env-schema.ts';
import { createService, type Service, type ServiceDefinition } from '../src/create-service.ts';
import { createTestDatabase, probePostgres, suiteTitle } from '../src/testing/infra.ts';

const postgres = await probePostgres();
const migrations = fileURLToPath(new URL('./fixtures/migrations', import.meta.url));
const config = z.object({ ...serviceConfigShape, ...databaseConfigShape, PORT: env.port(0) });
type Config = z.output<typeof config>;

const definition: ServiceDefinition<Config> = {
  name: 'notes',
  config,
  migrations,
  setup: ({ db }) => ({
    routes: async (app) => {
      app.get('/notes', async () => (await db?.query('SELECT body, author FROM notes ORDER BY id'))?.rows);
      app.get('/slow', async () => {
        await new Promise((resolve) => setTimeout(resolve, 400));
        return { finished: true };
      });
    },
  }),
};

describe.skipIf(!postgres.available)(suiteTitle('createService with PostgreSQL', postgres), () => {
  const cleanups: Array<() => Promise<unknown>> = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const start = async (extra: Record<string, string> = {}) => {
    const database = await createTestDatabase('chassis');
    cleanups.push(database.drop);
    const service = await createService(definition, {
      DATABASE_URL: database.url,
      LOG_LEVEL: 'silent',
      ...extra,
    });
    cleanups.push(() => service.stop());
    const url = await service.start();
    return { service, url, database };
  };

  it('applies migrations once and reports ready', async () => {
    const { service, url, database } = await start();
    const ready = await fetch(`${url}/readyz`);
    expect(ready.status).toBe(200);
    expect(await ready.json()).toEqual({ status: 'ready', checks: { database: 'ok' } });
    await service.db?.query("INSERT INTO notes (body) VALUES ('hello')");
    expect(await (await fetch(`${url}/notes`)).json()).toEqual([{ body: 'hello', author: 'anonymous' }]);

    // A second instance against the same database applies nothing and keeps the data.
    const again: Service<Config> = await createService(definition, {
      DATABASE_URL: database.url,
      LOG_LEVEL: 'silent',
    });
    cleanups.push(() => again.stop());
    const applied = await again.db?.query('SELECT name FROM schema_migrations ORDER BY id');
    expect(applied?.rows.map((row) => row.name)).toEqual([
      '1764000000000_create-notes',
      '1764000000001_add-note-author',
    ]);
    expect((await again.db?.query('SELECT count(*)::int AS n FROM notes'))?.rows[0]?.n).toBe(1);
  });

  it('turns not ready when its database goes away', async () => {
    const { url, database } = await start();
    await database.drop();
    const response = await fetch(`${url}/readyz`);
    expect(response.status).toBe(503);
    const body = (await response.json()) as { checks: Record<string, string> };
    expect(body.checks.database).not.toBe('ok');
  });

  it('drains in-flight requests on stop, then refuses new connections', async () => {
    const { service, url } = await start();
    const inFlight = fetch(`${url}/slow`);
    await new Promise((resolve) => setTimeout(resolve, 50));
    const stopped = service.stop();
    const response = await inFlight;
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ finished: true });
    expect(await stopped).toEqual({ drained: true });
    await expect(fetch(`${url}/healthz`)).rejects.toThrow();
  });

  it('gives up draining at SHUTDOWN_TIMEOUT_MS and still closes', async () => {
    const { service, url } = await start({ SHUTDOWN_TIMEOUT_MS: '100' });
    const inFlight = fetch(`${url}/slow`).catch((error: Error) => error);
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await service.stop()).toEqual({ drained: false });
    expect(await inFlight).toBeInstanceOf(Error);
  });
});
