/**
 * The physical baselines a benchmark stands on, measured in the same run (CONVENTIONS 13): on
 * shared machines an absolute figure moves 2× from one day to the next, a ratio to these holds.
 */
import { AckPolicy, jetstream, jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';
import pg from 'pg';

/**
 * Single-row `INSERT … COMMIT` transactions per second from Node, `clients` connections each
 * inserting one row per transaction (autocommit) for `seconds`, into a table of its own.
 */
export async function postgresInsertBaseline(options: {
  url: string;
  clients: number;
  seconds: number;
}): Promise<number> {
  const table = `bench_baseline_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: options.url });
  await admin.connect();
  await admin.query(`CREATE TABLE ${table} (id bigserial PRIMARY KEY, payload text NOT NULL)`);
  const clients = await Promise.all(
    Array.from({ length: options.clients }, async () => {
      const client = new pg.Client({ connectionString: options.url });
      await client.connect();
      return client;
    }),
  );
  let committed = 0;
  const ends = performance.now() + options.seconds * 1_000;
  const began = performance.now();
  await Promise.all(
    clients.map(async (client) => {
      while (performance.now() < ends) {
        await client.query(`INSERT INTO ${table} (payload) VALUES ($1)`, ['baseline']);
        committed += 1;
      }
    }),
  );
  const elapsed = (performance.now() - began) / 1_000;
  await Promise.all(clients.map((client) => client.end()));
  await admin.query(`DROP TABLE ${table}`);
  await admin.end();
  return Math.round(committed / elapsed);
}

/**
 * Raw JetStream publish → consume messages per second: `messages` published with up to 256 awaiting
 * their ack, read at once by a durable pull consumer that acks each; from the first publish to the
 * last message consumed.
 */
export async function jetstreamBaseline(options: { url: string; messages: number }): Promise<number> {
  const connection = await connect({ servers: options.url });
  const manager = await jetstreamManager(connection);
  const name = `BASELINE_${Date.now().toString(36).toUpperCase()}`;
  const subject = `baseline.${name.toLowerCase()}`;
  await manager.streams.add({ name, subjects: [subject] });
  await manager.consumers.add(name, { durable_name: 'baseline', ack_policy: AckPolicy.Explicit });
  const client = jetstream(connection);
  const consumer = await client.consumers.get(name, 'baseline');
  const payload = new TextEncoder().encode(JSON.stringify({ baseline: true, padding: 'x'.repeat(300) }));
  try {
    const began = performance.now();
    const consumed = (async () => {
      let count = 0;
      const messages = await consumer.consume({ max_messages: 1_000 });
      for await (const message of messages) {
        message.ack();
        count += 1;
        if (count === options.messages) break;
      }
    })();
    const window = new Set<Promise<unknown>>();
    for (let sent = 0; sent < options.messages; sent += 1) {
      const published = client.publish(subject, payload);
      window.add(published);
      void published.finally(() => window.delete(published));
      if (window.size >= 256) await Promise.race(window);
    }
    await Promise.all(window);
    await consumed;
    return Math.round(options.messages / ((performance.now() - began) / 1_000));
  } finally {
    await manager.streams.delete(name);
    await connection.close();
  }
}
