import { afterEach, describe, expect, it } from 'vitest';
import * as z from 'zod';
import { databaseConfigShape, serviceConfigShape } from '../src/config/env-schema.ts';
import type { Duty, ServiceDefinition } from '../src/create-service.ts';
import { createLogger } from '../src/logging/create-logger.ts';
import { event, testEvent, toTopic } from '../src/messaging/message-bus.contract.ts';
import type { MessageBus } from '../src/messaging/message-bus.port.ts';
import { NatsMessageBus } from '../src/messaging/nats-bus/nats-message-bus.ts';
import { messagingConfigShape } from '../src/messaging/service-messaging.ts';
import { suiteTitle, testNatsUrl } from '../src/testing/infra.ts';
import { connectTestBus, startTestService, type TestService } from '../src/testing/test-service.ts';
import { waitFor } from '../src/testing/wait-for.ts';
import { busAdapters } from './fixtures/bus-adapters.ts';

const { adapters } = await busAdapters(/^EVENTS_RTEST$/);
// Topics of this run only: streams and durable consumers outlive a run on a shared NATS server.
const run = Date.now().toString(36);
const config = z.object({ ...serviceConfigShape, ...databaseConfigShape, ...messagingConfigShape });
type Config = z.output<typeof config>;

/** A service whose consumer records what it handled and whose one duty counts its starts and stops. */
function roleService(topic: string) {
  const handled: number[] = [];
  const duty = { starts: 0, stops: 0, running: false };
  const timer: Duty = {
    name: 'test timer',
    start: () => {
      duty.starts += 1;
      duty.running = true;
    },
    stop: async () => {
      duty.stops += 1;
      duty.running = false;
    },
  };
  const definition: ServiceDefinition<Config, { database: true; messaging: true }> = {
    name: 'role-test',
    config,
    migrations: new URL('./fixtures/migrations', import.meta.url).pathname,
    messaging: { contracts: [testEvent] },
    setup: () => ({
      consumers: [
        {
          group: `role-test-${run}`,
          kind: 'topic',
          destinations: [topic],
          handler: async (message) => {
            handled.push(Number(message.data.seq));
          },
        },
      ],
      duties: [timer],
    }),
  };
  return { definition, handled, duty };
}

describe.each(adapters)('a blue-green standby ($name)', ({ ready, missing, env }) => {
  describe.skipIf(!ready)(suiteTitle('on real servers', missing), () => {
    const stops: Array<() => Promise<void>> = [];
    afterEach(async () => {
      for (const stop of stops.splice(0).reverse()) await stop();
    });

    const nats = env.BUS === 'nats';
    const topic = `rtest.${nats ? 'nats' : 'pg'}.${run}`;

    const start = async (role: 'active' | 'standby') => {
      const parts = roleService(topic);
      const service: TestService<Config> = await startTestService(parts.definition, {
        MERCATO_ROLE: role,
        ...(nats ? { MERCATO_BUS: 'nats', NATS_URL: testNatsUrl() } : {}),
      });
      stops.push(service.stop);
      let bus: MessageBus;
      if (nats) {
        bus = await NatsMessageBus.connect({
          url: testNatsUrl(),
          logger: createLogger({ service: 'test', level: 'silent' }),
        });
        stops.push(() => bus.close());
      } else {
        const testBus = connectTestBus(service.messagesUrl);
        stops.push(testBus.close);
        bus = testBus.bus;
      }
      const publish = (seqs: number[]) =>
        bus.publish(seqs.map((seq) => toTopic(topic, event(`k${seq}`, seq))));
      return { ...parts, service: service.service, url: service.url, publish };
    };

    it('takes no deliveries and runs no duties until made active, then takes what waited, once', async () => {
      const { service, url, publish, handled, duty } = await start('standby');
      expect(service.role()).toBe('standby');
      await publish([1, 2, 3]);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(handled).toEqual([]);
      expect(duty.running).toBe(false);
      const metrics = await (await fetch(`${url}/metrics`)).text();
      expect(metrics).toMatch(/^service_active{service="role-test"} 0$/m);

      await service.setRole('active');
      await waitFor(
        'the messages published while standing by handled',
        async () => handled.length >= 3,
        10_000,
      );
      expect(duty).toMatchObject({ starts: 1, running: true });

      // Standing by again: what comes now waits for the next active member.
      await service.setRole('standby');
      expect(duty).toMatchObject({ stops: 1, running: false });
      await publish([4]);
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      expect(handled.sort()).toEqual([1, 2, 3]);

      await service.setRole('active');
      await waitFor(
        'the message published while standing by again handled',
        async () => handled.length >= 4,
        10_000,
      );
      expect(handled.sort()).toEqual([1, 2, 3, 4]);
      expect(duty).toMatchObject({ starts: 2, stops: 1, running: true });
    });
  });
});
