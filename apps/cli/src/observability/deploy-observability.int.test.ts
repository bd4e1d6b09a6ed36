import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { infraRequired } from '@mercato/chassis/testing';
import { describe, expect, it } from 'vitest';
import { placeServices, repositoryRoot, serviceCatalog } from '../services.ts';
import { prometheusConfig, prometheusTargetsPath, writePrometheusTargets } from './prometheus-config.ts';

const folder = path.join(repositoryRoot, 'deploy', 'observability');
const promtool = ['/usr/bin/promtool', '/usr/local/bin/promtool'].find((candidate) => existsSync(candidate));
// CI installs Debian's prometheus package: there, a missing promtool fails instead of skipping.
if (!promtool && infraRequired())
  throw new Error('MERCATO_REQUIRE_INFRA is set but there is no promtool (apt-get install prometheus)');

/** The run state of `npm start` with its default ports. */
const defaultRun = () => {
  const { urls } = placeServices(serviceCatalog, {
    MERCATO_GATEWAY_PORT: 8080,
    MERCATO_PORT_BASE: 4001,
    MERCATO_GRPC_PORT_BASE: 5001,
  });
  return {
    services: Object.fromEntries(
      Object.entries(urls).map(([name, url]) => [
        name,
        { service: name, version: 'current', url, pid: null, grpc: null, database: null },
      ]),
    ),
  };
};

describe('deploy/observability', () => {
  it('prometheus.yml is the supervisor’s generated config for the default ports, one job per process', () => {
    const expected = prometheusConfig(defaultRun(), { rulesFile: 'rules.yml' });
    expect(readFileSync(path.join(folder, 'prometheus.yml'), 'utf8')).toBe(expected);
    expect(expected.match(/job_name/g)).toHaveLength(serviceCatalog.length);
  });

  it.skipIf(!promtool)(
    `passes promtool check config, rules included${promtool ? '' : ' (skipped: no promtool; apt-get install prometheus)'}`,
    () => {
      const check = spawnSync(
        promtool ?? 'promtool',
        ['check', 'config', path.join(folder, 'prometheus.yml')],
        {
          encoding: 'utf8',
        },
      );
      expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
      expect(check.stdout).toMatch(/SUCCESS: \d+ rules found/);
    },
  );

  it.skipIf(!promtool)(
    'a run’s config (targets in a file the supervisor rewrites) and that file pass promtool too',
    async () => {
      const run = await mkdtemp(path.join(tmpdir(), 'mercato-prometheus-config-'));
      try {
        const state = defaultRun();
        await writePrometheusTargets(run, state);
        const configFile = path.join(run, 'prometheus.yml');
        writeFileSync(
          configFile,
          prometheusConfig(state, {
            rulesFile: path.join(folder, 'rules.yml'),
            targetsFile: prometheusTargetsPath(run),
          }),
        );
        const check = spawnSync(promtool ?? 'promtool', ['check', 'config', configFile], {
          encoding: 'utf8',
        });
        expect(check.status, `${check.stdout}${check.stderr}`).toBe(0);
        const targets = JSON.parse(readFileSync(prometheusTargetsPath(run), 'utf8')) as {
          labels: { process: string };
        }[];
        expect(targets.map((target) => target.labels.process)).toEqual(Object.keys(state.services).sort());
      } finally {
        await rm(run, { recursive: true, force: true });
      }
    },
  );

  it('the Grafana dashboard is valid JSON whose every panel queries Prometheus', () => {
    const dashboard = JSON.parse(
      readFileSync(path.join(folder, 'grafana', 'mercato-services.json'), 'utf8'),
    ) as {
      panels: { title: string; targets: { expr: string }[] }[];
    };
    expect(dashboard.panels.length).toBeGreaterThan(8);
    for (const panel of dashboard.panels) expect(panel.targets.length, panel.title).toBeGreaterThan(0);
    const exprs = dashboard.panels.flatMap((panel) => panel.targets.map((target) => target.expr)).join('\n');
    for (const metric of [
      'http_server_request_duration_seconds',
      'rpc_client_breaker_state',
      'saga_finished_total',
      'consumer_lag_messages',
      'read_model_lag_seconds',
      'outbox_backlog',
    ])
      expect(exprs).toContain(metric);
  });
});
