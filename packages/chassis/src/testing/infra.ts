import pg from 'pg';

/** Where tests find PostgreSQL: the machine's server by default, overridable like any pg client. */
export const testPostgresUrl = (): string =>
  process.env.MERCATO_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

export const infraRequired = (): boolean => ['1', 'true'].includes(process.env.MERCATO_REQUIRE_INFRA ?? '');

export type Availability = { available: true } | { available: false; reason: string };

/**
 * Probes a server a test suite needs. Absent servers skip the suite with the reason on a laptop, and
 * fail it when MERCATO_REQUIRE_INFRA=1 (CI), so a missing server can never pass as green.
 */
export async function probe(name: string, attempt: () => Promise<void>): Promise<Availability> {
  try {
    await attempt();
    return { available: true };
  } catch (error) {
    const reason = `${name} is not reachable (${error instanceof Error ? error.message || error.name : String(error)})`;
    if (infraRequired()) throw new Error(`MERCATO_REQUIRE_INFRA is set but ${reason}`);
    process.stderr.write(`skipping: ${reason}\n`);
    return { available: false, reason };
  }
}

export const probePostgres = (url = testPostgresUrl()): Promise<Availability> =>
  probe('PostgreSQL', async () => {
    const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 2_000 });
    await client.connect();
    await client.end();
  });

export const testNatsUrl = (): string => process.env.MERCATO_TEST_NATS_URL ?? 'nats://127.0.0.1:4222';

export const probeNats = (url = testNatsUrl()): Promise<Availability> =>
  probe('NATS', async () => {
    const { connect } = await import('@nats-io/transport-node');
    const { jetstreamManager } = await import('@nats-io/jetstream');
    const connection = await connect({ servers: url, timeout: 2_000, reconnect: false });
    try {
      await jetstreamManager(connection); // Fails when JetStream is not enabled.
    } finally {
      await connection.close();
    }
  });

/** Deletes the streams (and their consumers) a test suite made on the NATS test server. */
export async function removeNatsStreams(names: RegExp, url = testNatsUrl()): Promise<void> {
  const { connect } = await import('@nats-io/transport-node');
  const { jetstreamManager } = await import('@nats-io/jetstream');
  const connection = await connect({ servers: url });
  const jsm = await jetstreamManager(connection);
  for await (const stream of jsm.streams.list()) {
    if (names.test(stream.config.name)) await jsm.streams.delete(stream.config.name);
  }
  await connection.close();
}

/** A suite title that carries the skip reason, so the runner's report says why it was skipped. */
export const suiteTitle = (title: string, availability: Availability): string =>
  availability.available ? title : `${title} [skipped: ${availability.reason}]`;

/** A throwaway database on the test server (or the one `adminUrl` names), dropped by the returned function. */
export async function createTestDatabase(
  prefix: string,
  adminUrl = testPostgresUrl(),
): Promise<{ url: string; drop: () => Promise<void> }> {
  const name = `${prefix}_${Date.now().toString(36)}_${Math.random().toString(36).slice(2, 8)}`.toLowerCase();
  const admin = new pg.Client({ connectionString: adminUrl });
  await admin.connect();
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    drop: async () => {
      const client = new pg.Client({ connectionString: adminUrl });
      await client.connect();
      await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
      await client.end();
    },
  };
}
