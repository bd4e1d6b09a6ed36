/**
 * A strict reader of the Prometheus text exposition format, for tests. Written by hand because the
 * npm parser we tried accepts any garbage as untyped samples and drops histogram labels; the format
 * is small enough to check line by line against its grammar.
 */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

export interface MetricFamily {
  name: string;
  type: 'counter' | 'gauge' | 'histogram' | 'summary' | 'untyped';
  help: string;
  samples: Sample[];
}

const metricName = '[a-zA-Z_:][a-zA-Z0-9_:]*';
const labelPair = '([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\\\\n]|\\\\.)*)"';
// Prometheus reads values with Go's ParseFloat, which takes Inf and NaN in any case (prom-client writes "Nan").
const value = '[+-]?(?:\\d+(?:\\.\\d*)?|\\.\\d+)(?:[eE][+-]?\\d+)?|[+-]?[Ii][Nn][Ff]|[Nn][Aa][Nn]';
const sampleLine = new RegExp(`^(${metricName})(?:\\{((?:${labelPair},?)*)\\})? (${value})(?: -?\\d+)?$`);
const helpLine = new RegExp(`^# HELP (${metricName}) (.*)$`);
const typeLine = new RegExp(`^# TYPE (${metricName}) (counter|gauge|histogram|summary|untyped)$`);
const labelPattern = new RegExp(labelPair, 'g');
const suffixes = ['_bucket', '_sum', '_count', '_total', '_created'];

const familyOf = (sample: string, families: Map<string, MetricFamily>): MetricFamily | undefined =>
  families.get(sample) ??
  families.get(
    suffixes.reduce((name, suffix) => (name.endsWith(suffix) ? name.slice(0, -suffix.length) : name), sample),
  );

export function parsePrometheusText(text: string): MetricFamily[] {
  const families = new Map<string, MetricFamily>();
  const family = (name: string): MetricFamily => {
    const existing = families.get(name);
    if (existing) return existing;
    const created: MetricFamily = { name, type: 'untyped', help: '', samples: [] };
    families.set(name, created);
    return created;
  };
  text.split('\n').forEach((line, index) => {
    if (line === '') return;
    const help = helpLine.exec(line);
    if (help) {
      family(help[1] ?? '').help = help[2] ?? '';
      return;
    }
    const type = typeLine.exec(line);
    if (type) {
      family(type[1] ?? '').type = type[2] as MetricFamily['type'];
      return;
    }
    const sample = sampleLine.exec(line);
    if (!sample) {
      throw new Error(
        `line ${index + 1} is not Prometheus text format: ${JSON.stringify(line.slice(0, 120))}`,
      );
    }
    const name = sample[1] ?? '';
    const owner = familyOf(name, families);
    if (!owner || owner.type === 'untyped')
      throw new Error(`metric ${name} (line ${index + 1}) has no # TYPE line`);
    const labels = Object.fromEntries(
      [...(sample[2] ?? '').matchAll(labelPattern)].map((match) => [match[1], match[2]]),
    );
    owner.samples.push({
      name,
      labels,
      value: Number(sample.at(-1)?.toLowerCase() === 'nan' ? Number.NaN : sample.at(-1)),
    });
  });
  return [...families.values()];
}

/**
 * The value of the first sample of family `name` whose labels include `labels` (a family's
 * `_total`, `_sum`… samples are under the family's name), or undefined when there is none.
 */
export function sampleValue(
  families: readonly MetricFamily[],
  name: string,
  labels: Record<string, string> = {},
): number | undefined {
  return families
    .find((family) => family.name === name)
    ?.samples.find((sample) => Object.entries(labels).every(([key, value]) => sample.labels[key] === value))
    ?.value;
}
