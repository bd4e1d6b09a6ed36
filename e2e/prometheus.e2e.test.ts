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
  file_sd_configs?: { files: string[] }[];
  relabel_configs?: Record<string, unknown>[];
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
      // The run's own config (.mercato/run/prometheus.yml: its targets in a file the supervisor keeps
      // up to date), scraped every second instead of 5 so the test is short, and with the label
      // Kubernetes' labelmap gives each pod of a Rollout (docs/kubernetes.md), added by relabelling:
      // catalog-2 plays the canary, catalog the stable version.
      const config = parse(await readFile(path.join(suite.dataDir, 'run', 'prometheus.yml'), 'utf8')) as {
        global: Record<string, string>;
        scrape_configs: ScrapeJob[];
      };
      expect(config.scrape_configs.map((job) => job.file_sd_configs?.[0]?.files)).toEqual([
        [path.join(suite.dataDir, 'run', 'prometheus-targets.json')],
      ]);
      config.global.scrape_interval = '1s';
      config.global.evaluation_interval = '1s';
      for (const job of config.scrape_configs)
        job.relabel_configs = Object.entries({ catalog: 'stable', 'catalog-2': 'canary' }).map(
          ([process, hash]) => ({
            source_labels: ['process'],
            regex: process,
            target_label: 'rollouts_pod_template_hash',
            replacement: hash,
          }),
        );
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
      const processes = Object.keys(state.services).sort();
      const targets = await server.targetsUp(processes.length);
      expect(targets.map((target) => target.labels.process).sort()).toEqual(processes);
      for (const target of targets)
        expect(target.labels.service).toBe(state.services[target.labels.process ?? '']?.service);

      // Traffic on the path the canary analysis watches: the gateway's reads reach catalog over gRPC,
      // spread over both instances; 700 reads, so each passes the template's 200 calls.
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
      // would, returns one number; the healthy canary's success rates pass their conditions.
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
        // Every read of this test, however slowly a loaded machine sent them (the default is 30 s).
        window: '5m',
      };
      const figures: string[] = [];
      for (const metric of template.spec.metrics) {
        const samples = await server.query(fill(metric.provider.prometheus.query, args));
        expect(samples, metric.name).toHaveLength(1);
        const value = samples[0]?.value ?? Number.NaN;
        expect(Number.isFinite(value), `${metric.name} is a number (${value})`).toBe(true);
        const success = holds(metric.successCondition, value);
        // As Argo Rollouts decides: with a failure condition, neither holding is inconclusive.
        const failure = metric.failureCondition ? holds(metric.failureCondition, value) : !success;
        const verdict = success ? 'pass' : failure ? 'fail' : 'inconclusive';
        figures.push(`${metric.name} = ${Math.round(value * 1000) / 1000} (${verdict})`);
        // Every read answered 200: the success rates are exact, whatever the machine's load. The
        // call count and the latencies depend on the balancing and on the machine: printed, and
        // their conditions evaluated above, not asserted.
        if (/success-rate/.test(metric.name))
          expect(success, `${metric.name}: ${metric.successCondition} (${value})`).toBe(true);
        else if (!metric.name.includes('vs-stable')) expect(value, metric.name).toBeGreaterThan(0);
      }
      console.log(
        `prometheus: ${targets.length} targets up, ${rules.length} rules ok; canary analysis of catalog-2: ${figures.join(', ')}`,
      );
      expect(prometheus.output).not.toMatch(/level=error/);
    }, 120_000);
  },
);
