import { createServiceMetrics } from '@mercato/chassis/metrics';
import { parsePrometheusText } from '@mercato/chassis/prometheus-text';
import * as z from 'zod';
import { defaultThresholds } from '../../../apps/cli/src/supervisor/releases/canary-analysis.ts';
import { idOf, type RenderedObject } from './rendered-object.ts';

const templateShape = z.looseObject({
  spec: z.looseObject({
    args: z.array(z.looseObject({ name: z.string() })).default([]),
    metrics: z.array(
      z.looseObject({
        name: z.string(),
        successCondition: z.string().optional(),
        provider: z.looseObject({ prometheus: z.looseObject({ query: z.string() }).optional() }),
      }),
    ),
  }),
});

/** Each metric of the template and the bound its success condition must state, from defaultThresholds. */
const expectedBounds: ReadonlyMap<string, { operator: '>=' | '<='; bound: number }> = new Map([
  ['canary-calls', { operator: '>=', bound: defaultThresholds.minSample }],
  ['canary-success-rate', { operator: '>=', bound: defaultThresholds.minSuccessPercent / 100 }],
  ['success-rate-vs-stable', { operator: '>=', bound: -defaultThresholds.successMarginPercent / 100 }],
  ['canary-p99', { operator: '<=', bound: defaultThresholds.maxP99Ms / 1000 }],
  ['p99-vs-stable', { operator: '<=', bound: defaultThresholds.p99MarginMs / 1000 }],
]);

/** The series a service's /metrics really has once it served one gRPC call: name → its labels. */
async function exposedSeries(): Promise<Map<string, Set<string>>> {
  const metrics = createServiceMetrics('probe');
  metrics.rpc.serverDuration.observe({ rpc_service: 's', rpc_method: 'm', grpc_code: 'OK' }, 0.01);
  const series = new Map<string, Set<string>>();
  for (const family of parsePrometheusText(await metrics.registry.metrics()))
    for (const sample of family.samples) {
      const labels = series.get(sample.name) ?? new Set<string>();
      for (const label of Object.keys(sample.labels)) labels.add(label);
      series.set(sample.name, labels);
    }
  return series;
}

/** Labels Prometheus adds from the pod, not the service (docs/kubernetes.md: the labelmap). */
const podLabels = new Set(['rollouts_pod_template_hash']);

/**
 * The AnalysisTemplate states the supervisor's thresholds (canary-analysis.ts defaultThresholds) and
 * queries only series, and labels, that a service exposes (createServiceMetrics, rpc-metrics.ts).
 */
export async function analysisProblems(objects: readonly RenderedObject[]): Promise<string[]> {
  const problems: string[] = [];
  const templates = objects.filter((object) => object.kind === 'AnalysisTemplate');
  if (templates.length === 0) return ['AnalysisTemplate: none rendered'];
  const series = await exposedSeries();
  for (const template of templates) {
    const owner = idOf(template);
    const { spec } = templateShape.parse(template);
    const args = new Set(spec.args.map((arg) => arg.name));
    for (const [name, expected] of expectedBounds) {
      const metric = spec.metrics.find((candidate) => candidate.name === name);
      const stated = metric?.successCondition?.match(/result\[0\] (>=|<=) (-?[\d.]+)/);
      if (!metric || !stated || stated[1] !== expected.operator || Number(stated[2]) !== expected.bound)
        problems.push(
          `${owner}: metric ${name} must succeed when result[0] ${expected.operator} ${expected.bound} (defaultThresholds)`,
        );
    }
    for (const metric of spec.metrics) {
      const query = metric.provider.prometheus?.query;
      if (!query) {
        problems.push(`${owner}: metric ${metric.name} has no Prometheus query`);
        continue;
      }
      for (const [, name = '', selector = ''] of query.matchAll(/([a-z_:][a-z0-9_:]*)\{([^}]*)\}/g)) {
        const labels = series.get(name);
        if (!labels) {
          problems.push(`${owner}: metric ${metric.name} queries ${name}, which no service exposes`);
          continue;
        }
        for (const [, label = ''] of selector.matchAll(/([a-z_]+)\s*(?:=~|!~|!=|=)/g))
          if (!labels.has(label) && !podLabels.has(label))
            problems.push(
              `${owner}: metric ${metric.name} selects ${name} by ${label}, a label it does not have`,
            );
      }
      for (const [, arg = ''] of query.matchAll(/\{\{args\.([a-z-]+)\}\}/g))
        if (!args.has(arg)) problems.push(`${owner}: metric ${metric.name} uses args.${arg}, not declared`);
    }
  }
  return problems;
}
