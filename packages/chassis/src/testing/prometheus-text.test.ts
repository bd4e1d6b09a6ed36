import { describe, expect, it } from 'vitest';
import { parsePrometheusText } from './prometheus-text.ts';

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
