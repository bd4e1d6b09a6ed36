import { describe, expect, it } from 'vitest';
import { parsePrometheusText, sampleValue } from './prometheus-text.ts';

describe('parsePrometheusText', () => {
  it('parses typed families with labels and histograms', () => {
    const families = parsePrometheusText(
      [
        '# HELP req Requests',
        '# TYPE req histogram',
        'req_bucket{le="0.1",route="/a"} 3',
        'req_bucket{le="+Inf",route="/a"} 4',
        'req_sum{route="/a"} 0.25',
        'req_count{route="/a"} 4',
        '',
      ].join('\n'),
    );
    expect(families.map((family) => [family.name, family.type])).toEqual([['req', 'histogram']]);
    expect(families[0]?.samples[1]).toEqual({
      name: 'req_bucket',
      labels: { le: '+Inf', route: '/a' },
      value: 4,
    });
  });

  it('rejects lines that are not exposition format', () => {
    expect(() => parsePrometheusText('{"level":"info"}\n')).toThrow(/line 1/);
    expect(() => parsePrometheusText('garbage line here\n')).toThrow(/line 1/);
  });

  it('rejects untyped families', () => {
    expect(() => parsePrometheusText('lonely 1\n')).toThrow(/no # TYPE/);
  });
});

describe('sampleValue', () => {
  const families = parsePrometheusText(
    [
      '# HELP concurrency_limit Limit',
      '# TYPE concurrency_limit gauge',
      'concurrency_limit{limiter="catalog"} 20',
      'concurrency_limit{limiter="order"} 7',
      '# HELP rtt RTT',
      '# TYPE rtt gauge',
      'rtt{limiter="order",measure="long"} 0.012',
      'rtt{limiter="order",measure="short"} 0.05',
      '',
    ].join('\n'),
  );

  it('finds the sample of a family whose labels include the ones asked for', () => {
    expect(sampleValue(families, 'concurrency_limit', { limiter: 'order' })).toBe(7);
    expect(sampleValue(families, 'rtt', { limiter: 'order', measure: 'short' })).toBe(0.05);
    expect(sampleValue(families, 'concurrency_limit')).toBe(20);
  });

  it('is undefined for a family or labels not there', () => {
    expect(sampleValue(families, 'concurrency_limit', { limiter: 'pricing' })).toBeUndefined();
    expect(sampleValue(families, 'absent')).toBeUndefined();
  });
});
