import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitFor } from '@mercato/chassis/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { repositoryRoot } from './support/platform-process.ts';
import { findPrometheus, PrometheusServer, promtoolCheckConfig } from './support/prometheus-server.ts';
import { suitePlatform } from './support/suite-platform.ts';

// Ports of their own, so the suite runs beside a developer's `npm start` and the other e2e suites.
const ports = { postgres: 25433, gateway: 18990, base: 13801, grpcBase: 12801 };
const PROMETHEUS_PORT = 19099;
const gateway = `http://127.0.0.1:${ports.gateway}`;
const found = findPrometheus();

interface ScrapeJob {
  job_name: string;
  static_configs: { targets: string[]; labels: Record<string, string> }[];
}

interface AnalysisMetric {
  name: string;
  successCondition: string;
  failureCondition?: string;
  provider: { prometheus: { query: string } };
}

/**
 * An Argo Rollouts condition (`isNaN(result[0]) || result[0] >= 0.99`) on one value. Argo evaluates
 * them with expr-lang; the few forms the template uses mean the same in JavaScript once `isNaN` is
 * Number.isNaN. Anything else in a condition fails the test rather than being evaluated.
 */
function holds(condition: string, value: number): boolean {
  const rest = condition.replaceAll(
    /isNaN\(result\[0\]\)|result\[0\]|\b(true|false)\b|-?[\d.]+|\|\||&&|[<>=!]=|[<>()]|\s/g,
    '',
  );
  if (rest !== '') throw new Error(`a condition this test cannot evaluate: ${condition} (${rest})`);
  const js = condition.replaceAll('isNaN(', 'Number.isNaN(');
  return Boolean(new Function('result', `return (${js});`)([value]));
}

/** The template's `{{args.name}}` placeholders, filled. */
const fill = (query: string, args: Record<string, string>) =>
  query.replaceAll(/\{\{args\.([\w-]+)\}\}/g, (_, name: string) => {
    const value = args[name];
    if (value === undefined) throw new Error(`the query uses {{args.${name}}}, which the test does not set`);
    return value;
  });

describe.skipIf('reason' in found)(
  `a real Prometheus over a running platform: every target, rule and canary query${'reason' in found ? ` [skipped: ${found.reason}]` : ''}`,
  () => {
    const suite = suitePlatform('prometheus', ports, {
      // Two catalog instances stand for a canary's pod and a stable one.
      MERCATO_REPLICAS: 'catalog=2',
      GATEWAY_RATE_LIMIT_DEFAULT: 'off',
      GATEWAY_RATE_LIMIT_CREDENTIALS: 'off',
    });
    let prometheus: PrometheusServer | undefined;
    let folder = '';
    afterAll(async () => {
      await prometheus?.stop();
      if (folder) await rm(folder, { recursive: true, force: true });
    });

    it('scrapes every process with the config the supervisor wrote, and evaluates every rule and every AnalysisTemplate query to a value', async () => {
      if ('reason' in found) return;
      folder = await mkdtemp(path.join(tmpdir(), 'mercato-prometheus-'));
      // The run's own config (.mercato/run/prometheus.yml), scraped every second instead of 5 so the
      // test is short, and with the label Kubernetes' labelmap gives each pod of a Rollout
      // (docs/kubernetes.md): catalog-2 plays the canary, catalog the stable version.
      const config = parse(await readFile(path.join(suite.dataDir, 'run', 'prometheus.yml'), 'utf8')) as {
        global: Record<string, string>;
        scrape_configs: ScrapeJob[];
      };
      config.global.scrape_interval = '1s';
      config.global.evaluation_interval = '1s';
      const hashes: Record<string, string> = { catalog: 'stable', 'catalog-2': 'canary' };
      for (const job of config.scrape_configs) {
        const hash = hashes[job.job_name];
        if (hash) for (const group of job.static_configs) group.labels.rollouts_pod_template_hash = hash;
      }
      const configFile = path.join(folder, 'prometheus.yml');
      await writeFile(configFile, stringify(config));
      const checked = promtoolCheckConfig(found.promtool, configFile);
      expect(checked.ok, checked.output).toBe(true);
      expect(checked.output).toMatch(/SUCCESS: \d+ rules found/);

      prometheus = new PrometheusServer(found.prometheus, {
        configFile,
        dataDir: path.join(folder, 'data'),
        port: PROMETHEUS_PORT,
      });
      await prometheus.ready();
      const server = prometheus;

      // Every process answers /metrics: every job's target is up.
      const state = await suite.platform.state();
      const jobs = Object.keys(state.services).sort();
      await waitFor(
        'every target scraped',
        async () => {
          const targets = await server.targets();
          return targets.length === jobs.length && targets.every((target) => target.health === 'up');
        },
        20_000,
        250,
      );
      const targets = await server.targets();
      expect(targets.map((target) => target.job).sort()).toEqual(jobs);

      // Traffic on the path the canary analysis watches: the gateway's reads reach catalog over gRPC,
      // spread over both instances; 700 reads, so each passes the template's 200 calls with room.
      // Spread over a few seconds after the first scrape, so that rates see them.
      for (let batch = 0; batch < 70; batch += 1) {
        await sleep(100);
        const answers = await Promise.all(
          Array.from({ length: 10 }, () => fetch(`${gateway}/api/catalog/products?page_size=5`)),
        );
        for (const answer of answers) {
          expect(answer.status).toBe(200);
          await answer.arrayBuffer();
        }
      }

      // Every rule evaluates without an error (health `ok` once it ran)…
      await waitFor(
        'every rule evaluated',
        async () => (await server.rules()).every((rule) => rule.health !== 'unknown'),
        20_000,
        250,
      );
      // …and after two scrapes of the traffic, every recording rule has a value, and every alert's
      // expression before its threshold finds the series it watches (an alert over a metric no
      // service exposes would never fire; `up == 0` must be able to see `up`).
      await waitFor(
        'the reads in two scrapes',
        async () =>
          (await server.query('service:rpc_server_requests:rate1m{service="catalog"}')).some(
            (sample) => sample.value > 0,
          ),
        20_000,
        250,
      );
      const rules = await server.rules();
      expect(rules.filter((rule) => rule.health !== 'ok')).toEqual([]);
      const empty: string[] = [];
      for (const rule of rules) {
        const watched =
          rule.type === 'recording'
            ? rule.name
            : rule.query.replace(/\s*(==|!=|>=|<=|>|<)\s*[\d.e+-]+\s*$/, '');
        if (rule.type === 'alerting')
          expect(watched, `${rule.name} compares with a number`).not.toBe(rule.query);
        if ((await server.query(watched)).length === 0) empty.push(`${rule.name}: ${watched}`);
      }
      expect(empty, 'rules whose series no service exposes').toEqual([]);

      // The Argo Rollouts AnalysisTemplate: each query, its arguments filled as a Rollout of catalog
      // would, returns one value, and the healthy canary passes every condition.
      const template = parse(
        await readFile(
          path.join(repositoryRoot, 'deploy', 'k8s', 'overlays', 'argo-rollouts', 'canary-analysis.yaml'),
          'utf8',
        ),
      ) as { spec: { args: { name: string; value?: string }[]; metrics: AnalysisMetric[] } };
      const args: Record<string, string> = {
        ...Object.fromEntries(
          template.spec.args.flatMap((arg) => (arg.value ? [[arg.name, arg.value]] : [])),
        ),
        service: 'catalog',
        'canary-hash': 'canary',
        'stable-hash': 'stable',
      };
      const figures: string[] = [];
      for (const metric of template.spec.metrics) {
        const samples = await server.query(fill(metric.provider.prometheus.query, args));
        expect(samples, metric.name).toHaveLength(1);
        const value = samples[0]?.value ?? Number.NaN;
        figures.push(`${metric.name} = ${value}`);
        expect(Number.isFinite(value), `${metric.name} is a number`).toBe(true);
        expect(
          holds(metric.successCondition, value),
          `${metric.name}: ${metric.successCondition} (${value})`,
        ).toBe(true);
        if (metric.failureCondition)
          expect(holds(metric.failureCondition, value), `${metric.name}: ${metric.failureCondition}`).toBe(
            false,
          );
      }
      console.log(
        `prometheus: ${targets.length} targets up, ${rules.length} rules ok; canary analysis of catalog-2: ${figures.join(', ')}`,
      );
      expect(prometheus.output).not.toMatch(/level=error/);
    }, 120_000);
  },
);
