import { type KV, Kvm } from '@nats-io/kv';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { createLogger } from '../src/logging/create-logger.ts';
import { PartitionLeases } from '../src/messaging/nats-bus/partition-leases.ts';
import { probeNats, suiteTitle, testNatsUrl } from '../src/testing/infra.ts';
import { waitFor } from '../src/testing/wait-for.ts';

const nats = await probeNats();
const logger = createLogger({ service: 'leases-test', level: 'silent' });
const bucket = `leases_test_${Date.now().toString(36)}`;
const partitions = Array.from({ length: 16 }, (_, index) => `p${index}`);

describe.skipIf(!nats.available)(suiteTitle('partition leases on NATS KV', nats), () => {
  const connections: NatsConnection[] = [];
  const members: PartitionLeases[] = [];
  /** Who consumes each partition now, as the members' callbacks report it; and any overlap seen. */
  const consuming = new Map<string, string>();
  const overlaps: string[] = [];
  const takenOver: string[] = [];
  let namespace = '';

  const open = async (): Promise<KV> => {
    const connection = await connect({ servers: testNatsUrl() });
    connections.push(connection);
    return new Kvm(connection).create(bucket, { history: 1 });
  };
  const join = async (kv: KV, ttlMs = 1_500, of = partitions): Promise<PartitionLeases> => {
    const member: PartitionLeases = new PartitionLeases({
      kv,
      namespace,
      partitions: of,
      ttlMs,
      logger,
      acquire: (partition, fromDeadOwner) => {
        const holder = consuming.get(partition);
        if (holder !== undefined) overlaps.push(`${partition}: ${holder} and ${member.memberId}`);
        consuming.set(partition, member.memberId);
        if (fromDeadOwner !== 'none') takenOver.push(partition);
      },
      release: async (partition) => {
        if (consuming.get(partition) === member.memberId) consuming.delete(partition);
      },
    });
    members.push(member);
    await member.start();
    return member;
  };
  const heldBy = (member: PartitionLeases) =>
    [...consuming.values()].filter((holder) => holder === member.memberId).length;

  afterEach(async () => {
    for (const member of members.splice(0)) await member.stop();
    for (const connection of connections.splice(0)) await connection.close();
    consuming.clear();
    overlaps.length = 0;
    takenOver.length = 0;
  });
  afterAll(async () => {
    const connection = await connect({ servers: testNatsUrl() });
    await (await new Kvm(connection).open(bucket)).destroy();
    await connection.close();
  });

  it('shares the partitions fairly as members join and leave, never two on one', async () => {
    namespace = `fair${Date.now().toString(36)}`;
    const kv = await open();
    const a = await join(kv);
    await waitFor('the only member holding all sixteen', () => heldBy(a) === 16);

    const b = await join(kv);
    await waitFor('eight each', () => heldBy(a) === 8 && heldBy(b) === 8);

    const c = await join(kv);
    await waitFor(
      'at most six each, all sixteen held',
      () => [a, b, c].every((member) => heldBy(member) <= 6 && heldBy(member) >= 4) && consuming.size === 16,
    );

    await b.stop();
    await waitFor('the two left holding eight each', () => heldBy(a) === 8 && heldBy(c) === 8);
    expect(overlaps).toEqual([]);
    expect(takenOver).toEqual([]); // Every handover above was a release, not a takeover.
  });

  it('lets a member beyond the partition count join at once, holding none', async () => {
    namespace = `spare${Date.now().toString(36)}`;
    const kv = await open();
    const two = ['q0', 'q1'];
    const a = await join(kv, 1_500, two);
    const b = await join(kv, 1_500, two);
    await waitFor('one each', () => heldBy(a) === 1 && heldBy(b) === 1);
    const joining = performance.now();
    const spare = await join(kv, 1_500, two);
    expect(performance.now() - joining).toBeLessThan(1_500);
    expect(heldBy(spare)).toBe(0);
    await a.stop();
    await waitFor('the spare taking what the leaver held', () => heldBy(spare) === 1 && heldBy(b) === 1);
    expect(overlaps).toEqual([]);
  });

  it('takes over the partitions of a member no longer heard from, after it stopped consuming them', async () => {
    namespace = `dead${Date.now().toString(36)}`;
    const ttlMs = 1_500;
    const doomedConnection = await open();
    const doomed = await join(doomedConnection, ttlMs);
    await waitFor('the doomed member holding all sixteen', () => heldBy(doomed) === 16);
    const survivor = await join(await open(), ttlMs);
    await waitFor('eight each', () => heldBy(doomed) === 8 && heldBy(survivor) === 8);

    // Cut off from NATS: it can neither heartbeat nor release, as after a crash or a partition.
    const cutAt = performance.now();
    await connections[0]?.close();
    await waitFor('the cut-off member to stop consuming its own', () => heldBy(doomed) === 0, 5_000);
    const fencedAfter = performance.now() - cutAt;
    await waitFor('the survivor holding all sixteen', () => heldBy(survivor) === 16, 10_000);
    const takenAfter = performance.now() - cutAt;

    expect(fencedAfter).toBeLessThan(ttlMs);
    expect(takenAfter).toBeGreaterThanOrEqual(ttlMs * 0.9);
    expect([...takenOver].sort()).toHaveLength(8);
    expect(overlaps).toEqual([]);
  });
  it('gives a member restarted under the same id its partitions back at once, as taken over', async () => {
    namespace = `again${Date.now().toString(36)}`;
    const ttlMs = 5_000;
    /** Partition → which process of member `order-run1` consumes it; a killed one reports nothing. */
    const holders = new Map<string, string>();
    const fromDeadOwner: string[] = [];
    const processOf = async (label: string) => {
      let alive = true;
      const member = new PartitionLeases({
        kv: await open(),
        namespace,
        partitions,
        ttlMs,
        logger,
        memberId: 'order-run1',
        acquire: (partition, takenOver) => {
          if (!alive) return;
          holders.set(partition, label);
          if (takenOver === 'restarted') fromDeadOwner.push(partition);
        },
        release: async (partition) => {
          if (alive && holders.get(partition) === label) holders.delete(partition);
        },
      });
      members.push(member);
      await member.start();
      return { member, kill: () => (alive = false) };
    };
    const count = (label: string) => [...holders.values()].filter((holder) => holder === label).length;

    const first = await processOf('first');
    await waitFor('the first process holding all sixteen', () => count('first') === 16);
    // kill -9: no release, no more heartbeats; the bucket still names order-run1 for every lease.
    first.kill();
    await connections[0]?.close();

    const restartedAt = performance.now();
    await processOf('second');
    await waitFor('the restarted process holding all sixteen', () => count('second') === 16, 10_000);
    // A member with a new id would wait the whole TTL for the dead one to go silent.
    expect(performance.now() - restartedAt).toBeLessThan(ttlMs);
    // Each taken over, so a worker waits for what the dead process had in hand to be redelivered.
    expect([...fromDeadOwner].sort()).toEqual([...partitions].sort());
  });
});
