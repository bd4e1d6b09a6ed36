import { afterEach, describe, expect, it } from 'vitest';
import { suiteTitle } from '../src/testing/infra.ts';
import { busAdapters } from './fixtures/bus-adapters.ts';
import {
  crashDatabases,
  effectOrderByKey,
  effectsOf,
  FIXTURE_STARTED_WITHIN_MS,
  fixture,
  waitForEffects,
} from './fixtures/crash-harness.ts';

const { adapters } = await busAdapters(/^EVENTS_CRASH$/);
/**
 * How long the effects may take once the next consumer runs. On NATS a member with a new id takes
 * the dead one's partitions after a lease TTL of silence (5 s) and an ack wait (1 s): 5.5 s idle,
 * the same beside three busy loops; the rest is room for a loaded machine. (The two CI runs where
 * nothing arrived were not load: an e2e suite beside this one purged every `EVENTS_…` stream, this
 * one's too, between the publish and the take-over; it now purges only the shop's.)
 */
const EFFECTS_WITHIN_MS = 45_000;
let topics = 0;
const uniqueTopic = () => `crash.t${Date.now().toString(36)}${topics++}`;

describe.each(adapters)('messaging on the $name survives processes killed with SIGKILL', (adapter) => {
  // Each test starts two or three processes from source (tsx) one after another, each waited for up
  // to a minute: beside the e2e suite on a 2-core machine that took more than the project's 30 s.
  describe.skipIf(!adapter.ready)(
    suiteTitle('on real servers', adapter.missing),
    { timeout: 180_000 },
    () => {
      const cleanups: Array<() => Promise<void>> = [];
      afterEach(async () => {
        for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
      });
      const start = (env: Record<string, string>) => {
        const process = fixture(env);
        cleanups.push(() => process.kill());
        return process;
      };
      const databases = async () => {
        const created = await crashDatabases();
        cleanups.push(created.drop);
        return { ...created, env: { ...created.env, ...adapter.env, TOPIC: uniqueTopic() } };
      };
      const exactlyOnce = (count: number) => Array.from({ length: count }, (_, seq) => ({ seq, n: 1 }));
      // Ten events over keys k0..k3 (seq % 4): each key's effects must follow its sequence, also
      // across the death of the member that held the key's earlier message.
      const inKeyOrder = { k0: [0, 4, 8], k1: [1, 5, 9], k2: [2, 6], k3: [3, 7] };

      it('delivers messages whose producer died after commit, before the relay published them', async () => {
        const { env, servicePool } = await databases();
        const producer = start({ ...env, ROLE: 'produce', COUNT: '20', CRASH_AFTER_COMMIT: '1' });
        await producer.waitForLine(/^committed$/, FIXTURE_STARTED_WITHIN_MS);
        await producer.exited();
        expect(producer.child.signalCode).toBe('SIGKILL');
        expect((await servicePool.query('SELECT count(*)::int AS n FROM mercato_outbox')).rows[0]).toEqual({
          n: 20,
        });

        const consumer = start({ ...env, ROLE: 'consume' });
        await consumer.waitForLine(/^consuming$/, FIXTURE_STARTED_WITHIN_MS);
        const restarted = start({ ...env, ROLE: 'produce', COUNT: '0' });
        await restarted.waitForLine(/^relayed$/, FIXTURE_STARTED_WITHIN_MS);
        await waitForEffects(servicePool, 20, EFFECTS_WITHIN_MS, { consumer, restarted });
        expect(await effectsOf(servicePool)).toEqual(exactlyOnce(20));
      });

      /** A consumer killed inside its handler of message 3, and another started (`restart` env). */
      const killedInItsHandler = async (first: Record<string, string>, restart: Record<string, string>) => {
        const { env, servicePool } = await databases();
        const doomed = start({ ...env, ...first, ROLE: 'consume', DIE_IN_HANDLER: '3' });
        await doomed.waitForLine(/^consuming$/, FIXTURE_STARTED_WITHIN_MS);
        const producer = start({ ...env, ROLE: 'produce', COUNT: '10' });
        await doomed.waitForLine(/^in-handler 3$/, 20_000);
        await doomed.kill('SIGKILL');

        const next = start({ ...env, ...restart, ROLE: 'consume' });
        await next.waitForLine(/^consuming$/, FIXTURE_STARTED_WITHIN_MS);
        await waitForEffects(servicePool, 10, EFFECTS_WITHIN_MS, { doomed, producer, next });
        await new Promise((resolve) => setTimeout(resolve, 1_500)); // past the visibility timeout: nothing more arrives
        expect(await effectsOf(servicePool)).toEqual(exactlyOnce(10));
        expect(await effectOrderByKey(servicePool)).toEqual(inKeyOrder);
      };

      it('applies the effect exactly once when the consumer dies inside its handler', async () => {
        await killedInItsHandler({}, {});
      });

      it('applies each effect once and in key order when the consumer comes back under its instance id', async () => {
        // On NATS the restarted member takes its partitions back at once (no lease TTL to wait out),
        // as taken over: what the dead one had in hand is redelivered before anything later of its keys.
        const instance = { INSTANCE_ID: 'consumer-1' };
        await killedInItsHandler(instance, instance);
      });

      it('does not apply the effect again when the consumer dies after commit, before acknowledging', async () => {
        const { env, servicePool } = await databases();
        const doomed = start({ ...env, ROLE: 'consume', DIE_BEFORE_ACK: '5' });
        await doomed.waitForLine(/^consuming$/, FIXTURE_STARTED_WITHIN_MS);
        const producer = start({ ...env, ROLE: 'produce', COUNT: '10' });
        await doomed.waitForLine(/^committed-not-acked 5$/, 20_000);
        await doomed.exited();

        const survivor = start({ ...env, ROLE: 'consume' });
        await survivor.waitForLine(/^consuming$/, FIXTURE_STARTED_WITHIN_MS);
        await waitForEffects(servicePool, 10, EFFECTS_WITHIN_MS, { doomed, producer, survivor });
        await new Promise((resolve) => setTimeout(resolve, 1_500));
        expect(await effectsOf(servicePool)).toEqual(exactlyOnce(10));
        expect(await effectOrderByKey(servicePool)).toEqual(inKeyOrder);
      });
    },
  );
});
