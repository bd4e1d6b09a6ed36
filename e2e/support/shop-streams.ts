import { streamFor } from '@mercato/chassis/nats';
import { shopDestinations } from '@mercato/contracts';
import { jetstreamManager } from '@nats-io/jetstream';
import { connect } from '@nats-io/transport-node';

/** The JetStream streams the shop's messages go to: one per event context, one per queue. */
export const shopStreamNames = (): Set<string> =>
  new Set([
    ...shopDestinations.topics.map((topic) => streamFor('topic', topic).name),
    ...shopDestinations.queues.map((queue) => streamFor('queue', queue).name),
  ]);

/**
 * A fresh shop starts from empty queues: commands an earlier run's shop left in JetStream (its
 * databases are gone) would otherwise act on this one's stock. Only the shop's own streams: the
 * server is shared with suites running beside this one, and purging theirs (every `EVENTS_…` once)
 * took the messages a chassis crash test was waiting for.
 */
export async function purgeShopStreams(url: string): Promise<void> {
  const shopStreams = shopStreamNames();
  const connection = await connect({ servers: url });
  try {
    const manager = await jetstreamManager(connection);
    for await (const stream of manager.streams.list())
      if (shopStreams.has(stream.config.name)) await manager.streams.purge(stream.config.name);
  } finally {
    await connection.close();
  }
}
