import { connect } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  createTestDatabase,
  freePort,
  infraRequired,
  ProcessUnderTest,
  probe,
  probeNats,
  probePostgres,
  testNatsUrl,
  waitFor,
} from '@mercato/chassis/testing';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtCommand } from '../apps/cli/src/build/service-build.ts';
import { serviceCatalog } from '../apps/cli/src/services.ts';
import { findKubectl } from '../deploy/k8s/validation/kubectl.ts';
import { type ManifestPod, manifestPods, renderOverlay } from './support/manifest-pods.ts';
import { repositoryRoot } from './support/platform-process.ts';
import { purgeShopStreams } from './support/shop-streams.ts';

/**
 * The dev overlay's pods run here as they would on a cluster, without one: each Deployment's
 * container started from its bundle with the environment the kubelet would give it (ConfigMaps,
 * env, the pod's name; Secrets stood in), on the manifest's ports (8080, 50051) at an address of its
 * own, as a pod has; services find each other by DNS name (`catalog:50051`), the names resolved by a
 * stand-in for the cluster's DNS (support/cluster-dns.mjs). What only a cluster has is replaced and
 * said: the databases CloudNativePG would create (one per service here too), NATS and Redis (this
 * machine's, under their Service names), one NATS server instead of three (NATS_STREAM_REPLICAS=1),
 * and the outside systems' addresses (the local payment provider, carrier and mail sink).
 *
 * It proves what rendering cannot: every probe answers on the port and path the manifest gives
 * within its failure budget, the shop works over DNS names (an order is confirmed end to end), and
 * every pod stops on SIGTERM, with traffic still arriving, within its terminationGracePeriodSeconds
 * less its preStop sleep.
 */
const kubectl = await findKubectl();
const infra = await Promise.all([probePostgres(), probeNats(), probe('Redis on 6379', () => tcpOpen(6379))]);
const missing = [
  ...(kubectl.available ? [] : [kubectl.reason]),
  ...infra.flatMap((availability) => (availability.available ? [] : [availability.reason])),
];
if (missing.length > 0 && infraRequired())
  throw new Error(`MERCATO_REQUIRE_INFRA is set but: ${missing.join('; ')}`);

function tcpOpen(port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve();
    });
    socket.once('error', reject);
  });
}

const hook = fileURLToPath(new URL('./support/cluster-dns.mjs', import.meta.url));
const directoryOf = (name: string) => {
  const spec = serviceCatalog.find((candidate) => candidate.name === name);
  if (!spec) throw new Error(`no service ${name} in the catalog`);
  return path.join(repositoryRoot, spec.directory);
};
/** A process started from its bundle, with only the given environment (and PATH). */
const startBundle = (name: string, environment: Record<string, string>) =>
  new ProcessUnderTest(['--import', hook, ...builtCommand()], {
    cwd: directoryOf(name),
    env: { PATH: process.env.PATH ?? '', ...environment },
  });

interface Running {
  pod: ManifestPod;
  address: string;
  process: ProcessUnderTest;
}

describe.skipIf(missing.length > 0)(
  `the dev overlay's pods, run locally with DNS discovery${missing.length > 0 ? ` (skipped: ${missing.join('; ')})` : ''}`,
  () => {
    const running: Running[] = [];
    const outside: ProcessUnderTest[] = [];
    const drops: Array<() => Promise<void>> = [];
    let gateway = '';

    beforeAll(async () => {
      if (!kubectl.available) return;
      const pods = manifestPods(await renderOverlay(kubectl.kubectl, 'dev'));
      expect(pods.map((pod) => pod.name).sort()).toContain('gateway');
      await purgeShopStreams(testNatsUrl());
      const database = async (name: string) => {
        const created = await createTestDatabase(`k8s_${name.replace(/-/g, '_')}`);
        drops.push(created.drop);
        return created.url;
      };
      // The outside world, on this machine's loopback as the platform runs it.
      const smtpPort = await freePort();
      const standIns = await Promise.all(
        ['payment-provider', 'carrier', 'smtp-sink'].map(async (name) => {
          const standIn = startBundle(name, {
            MERCATO_SERVICE: name,
            HOST: '127.0.0.1',
            PORT: '0',
            DATABASE_URL: await database(name),
            ...(name === 'smtp-sink' ? { SMTP_PORT: String(smtpPort) } : {}),
          });
          outside.push(standIn);
          const line = await standIn.waitForLine(/"message":"[a-z-]+ listening"/, 30_000);
          return (JSON.parse(line) as { address: string }).address;
        }),
      );
      const [providerUrl = '', carrierUrl = ''] = standIns;
      // A pod's address each, as the cluster's Service names resolve to.
      const addressOf = new Map(pods.map((pod, index) => [pod.name, `127.0.0.${20 + index}`]));
      const hosts = [...addressOf, ['nats', '127.0.0.1'], ['redis', '127.0.0.1']]
        .map(([name, address]) => `${name}=${address}`)
        .join(',');
      await Promise.all(
        pods.map(async (pod) => {
          const address = addressOf.get(pod.name) ?? '';
          const environment: Record<string, string> = {
            ...pod.environment,
            MERCATO_TEST_HOSTS: hosts,
            HOST: address,
            ...(pod.environment.DATABASE_URL ? { DATABASE_URL: await database(pod.name) } : {}),
            ...(pod.environment.NATS_STREAM_REPLICAS ? { NATS_STREAM_REPLICAS: '1' } : {}),
            ...(pod.environment.PAYMENT_PROVIDER_URL ? { PAYMENT_PROVIDER_URL: providerUrl } : {}),
            ...(pod.environment.CARRIER_URL ? { CARRIER_URL: carrierUrl } : {}),
            ...(pod.environment.SMTP_URL ? { SMTP_URL: `smtp://127.0.0.1:${smtpPort}` } : {}),
          };
          running.push({ pod, address, process: startBundle(pod.name, environment) });
        }),
      );
      const gatewayPod = running.find((pod) => pod.pod.name === 'gateway');
      gateway = `http://${gatewayPod?.address}:${gatewayPod?.pod.ports.http}`;
    }, 120_000);

    afterAll(async () => {
      await Promise.all([...running.map((pod) => pod.process), ...outside].map((child) => child.kill()));
      for (const drop of drops) await drop();
    });

    const probeAnswers = async (pod: Running, path: string, port: number) => {
      const response = await fetch(`http://${pod.address}:${port}${path}`).catch(() => undefined);
      await response?.arrayBuffer();
      return response?.status === 200;
    };

    it("answers every pod's startup, readiness and liveness probes on the manifest's ports and paths, within the budgets Kubernetes enforces", async () => {
      const started = Date.now();
      const times = await Promise.all(
        running.map(async (pod) => {
          for (const [kind, spec] of [
            ['startup', pod.pod.startup],
            ['readiness', pod.pod.readiness],
            ['liveness', pod.pod.liveness],
          ] as const) {
            if (!spec) throw new Error(`${pod.pod.name} has no ${kind} probe`);
            await waitFor(
              `${pod.pod.name}'s ${kind} probe (GET ${spec.path} on ${spec.port})`,
              () => probeAnswers(pod, spec.path, spec.port),
              // A failing startup or liveness probe restarts the container, so each must answer within
              // its periodSeconds × failureThreshold. A pod not yet ready is only kept out of its
              // Service (failureThreshold counts failures after it was ready): its first readiness
              // waits for its dependencies (the gateway's for identity and catalog, which start at the
              // same moment), so it gets the startup budget.
              kind === 'readiness' ? Math.max(spec.withinMs, pod.pod.startup?.withinMs ?? 0) : spec.withinMs,
              200,
            );
          }
          return `${pod.pod.name} ${((Date.now() - started) / 1000).toFixed(1)} s`;
        }),
      );
      console.log(`ready (startup, readiness and liveness probes answered): ${times.join(', ')}`);
    }, 150_000);

    it('confirms an order placed through the gateway, every call between services made by DNS name', async () => {
      const post = (route: string, body: unknown, headers: Record<string, string> = {}) =>
        fetch(`${gateway}${route}`, {
          method: 'POST',
          headers: { 'content-type': 'application/json', ...headers },
          body: JSON.stringify(body),
        });
      const email = `k8s-${Date.now()}@mercato.test`;
      const password = 'correct horse battery staple';
      expect((await post('/api/auth/register', { email, password, name: 'Pod Person' })).status).toBe(201);
      const { access_token: token } = (await (await post('/api/auth/login', { email, password })).json()) as {
        access_token: string;
      };
      const authorization = `Bearer ${token}`;
      await waitFor(
        'the customer profile (user.registered over NATS)',
        async () =>
          (await fetch(`${gateway}/api/customers/me`, { headers: { authorization } })).status === 200,
        30_000,
        100,
      );
      const placed = await post(
        '/api/orders',
        { items: [{ sku: 'BOK-0001', quantity: 1 }], shipping_address: '1 Pod Street' },
        { authorization, 'idempotency-key': `k8s-${Date.now()}` },
      );
      const order = (await placed.json()) as { order_id: string };
      expect(placed.status, JSON.stringify(order)).toBe(202);
      let status = '';
      await waitFor(
        'the order confirmed (inventory, payment and the saga over DNS names and NATS)',
        async () => {
          const response = await fetch(`${gateway}/api/orders/${order.order_id}`, {
            headers: { authorization },
          });
          status = ((await response.json()) as { status: string }).status;
          return ['confirmed', 'shipped', 'delivered'].includes(status);
        },
        30_000,
        200,
      );
      expect(['confirmed', 'shipped', 'delivered']).toContain(status);
    }, 90_000);

    it('stops every pod on SIGTERM, reads still arriving, within its terminationGracePeriodSeconds less its preStop', async () => {
      // Up to here no pod logged an error (start-up's warnings, the gateway ejecting a service that
      // is not listening yet, are warnings); once its dependencies stop, the gateway's 503s are.
      const errors = running.flatMap(({ pod, process: child }) =>
        child.lines
          .filter((line) => /"level":"(error|fatal)"/.test(line))
          .map((line) => `${pod.name}: ${line.slice(0, 400)}`),
      );
      expect(errors).toEqual([]);
      let reading = true;
      const reads = (async () => {
        while (reading) {
          await fetch(`${gateway}/api/catalog/products?page_size=5`)
            .then((response) => response.arrayBuffer())
            .catch(() => undefined);
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
      })();
      await new Promise((resolve) => setTimeout(resolve, 500));
      const stops = await Promise.all(
        running.map(async ({ pod, process: child }) => {
          const sent = performance.now();
          const exited = child.exited();
          child.child.kill('SIGTERM');
          const code = await exited;
          const seconds = (performance.now() - sent) / 1000;
          const budget = pod.terminationGracePeriodSeconds - pod.preStopSeconds;
          return {
            name: pod.name,
            code,
            seconds,
            budget,
            stopped: child.lines.some((line) => /"message":"stopped"/.test(line)),
            // What it said last (request lines left out), for a failure's message.
            last: child.lines
              .filter((line) => !line.includes('rpc completed'))
              .slice(-6)
              .map((line) => line.slice(0, 600))
              .join('\n'),
          };
        }),
      );
      reading = false;
      await reads;
      console.log(
        `SIGTERM to exit: ${stops.map((stop) => `${stop.name} ${stop.seconds.toFixed(2)} s (of ${stop.budget} s)`).join(', ')}`,
      );
      for (const stop of stops) {
        expect(stop.code, `${stop.name}'s exit code; its last lines:\n${stop.last}`).toBe(0);
        expect(stop.stopped, `${stop.name} logged that it stopped`).toBe(true);
        expect(stop.seconds, `${stop.name}'s SIGTERM to exit`).toBeLessThan(stop.budget);
      }
    }, 60_000);
  },
);
