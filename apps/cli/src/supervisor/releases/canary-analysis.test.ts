import { describe, expect, it } from 'vitest';
import { defaultThresholds, judge, messageShare, rpcSnapshot, windowFigures } from './canary-analysis.ts';

/** prom-client's text for one method: `ok` and `internal` calls, all in the 10 ms bucket or the 1 s one. */
function metrics(ok: number, internal: number, slow = 0): string {
  const lines = ['# HELP rpc_server_duration_seconds d', '# TYPE rpc_server_duration_seconds histogram'];
  for (const [code, count] of [
    ['OK', ok],
    ['Internal', internal],
  ] as const) {
    const labels = `rpc_service="catalog.v1.CatalogService",rpc_method="ListProducts",grpc_code="${code}"`;
    const fast = code === 'OK' ? count - slow : count;
    lines.push(
      `rpc_server_duration_seconds_bucket{le="0.01",${labels}} ${fast}`,
      `rpc_server_duration_seconds_bucket{le="1",${labels}} ${count}`,
      `rpc_server_duration_seconds_bucket{le="+Inf",${labels}} ${count}`,
      `rpc_server_duration_seconds_sum{${labels}} 0`,
      `rpc_server_duration_seconds_count{${labels}} ${count}`,
    );
  }
  return `${lines.join('\n')}\n`;
}

const window = (before: string[], after: string[]) =>
  windowFigures(before.map(rpcSnapshot), after.map(rpcSnapshot));

/** prom-client's text for a consumer group's handled deliveries. */
const deliveries = (processed: number) =>
  [
    '# HELP consumer_handle_duration_seconds d',
    '# TYPE consumer_handle_duration_seconds histogram',
    `consumer_handle_duration_seconds_bucket{le="+Inf",group="pricing",outcome="processed"} ${processed}`,
    `consumer_handle_duration_seconds_sum{group="pricing",outcome="processed"} 0`,
    `consumer_handle_duration_seconds_count{group="pricing",outcome="processed"} ${processed}`,
    '',
  ].join('\n');

describe('canary analysis', () => {
  it('reports the canary’s share of deliveries beside its calls: a group member’s, not its weight', () => {
    // At 5 % of calls, one of three members of the group: about a third of the deliveries.
    const canary = window([metrics(0, 0) + deliveries(10)], [metrics(20, 0) + deliveries(40)]);
    const stable = window(
      [metrics(0, 0) + deliveries(10), metrics(0, 0) + deliveries(10)],
      [metrics(190, 0) + deliveries(40), metrics(190, 0) + deliveries(41)],
    );
    expect([canary.calls, stable.calls, canary.messages, stable.messages]).toEqual([20, 380, 30, 61]);
    expect(messageShare(canary, stable)).toBe('deliveries: canary 30 of 91 (33 %)');
    expect(
      messageShare(window([metrics(0, 0)], [metrics(5, 0)]), window([metrics(0, 0)], [metrics(5, 0)])),
    ).toBe(undefined);
  });

  it('reads a window’s calls, success rate and p99 from gRPC server histograms, adding instances up', () => {
    const figures = window([metrics(100, 0), metrics(50, 0)], [metrics(300, 2), metrics(250, 0)]);
    expect(figures.calls).toBe(402);
    expect(figures.successPercent).toBeCloseTo((100 * 400) / 402, 5);
    expect(figures.p99Ms).toBeLessThanOrEqual(10);
  });

  it('passes a canary as good as the stable version', () => {
    const verdict = judge(
      window([metrics(0, 0)], [metrics(250, 0)]),
      window([metrics(0, 0)], [metrics(5_000, 0)]),
      defaultThresholds,
    );
    expect(verdict.outcome).toBe('pass');
    expect(verdict.reasons.every((reason) => reason.startsWith('ok:'))).toBe(true);
  });

  it('fails one that errs or is slow, naming the check and its figures', () => {
    const stable = window([metrics(0, 0)], [metrics(5_000, 0)]);
    const erring = judge(window([metrics(0, 0)], [metrics(210, 90)]), stable, defaultThresholds);
    expect(erring.outcome).toBe('fail');
    expect(erring.reasons).toContain('FAILED: success 70.00 % ≥ 99 %');
    const slow = judge(window([metrics(0, 0)], [metrics(300, 0, 30)]), stable, defaultThresholds);
    expect(slow.outcome).toBe('fail');
    expect(slow.reasons.some((reason) => /^FAILED: p99 \d+ ms ≤ 500 ms$/.test(reason))).toBe(true);
  });

  it('is inconclusive below the minimum sample while the calls to come could still make it pass', () => {
    const verdict = judge(
      window([metrics(0, 0)], [metrics(98, 2)]),
      window([metrics(0, 0)], [metrics(10, 0)]),
      defaultThresholds,
    );
    expect(verdict.outcome).toBe('inconclusive');
    expect(verdict.reasons[0]).toMatch(/100 canary calls, fewer than the 200 needed/);
  });

  it('fails below the minimum sample once its failures alone rule out a pass (an ejected canary gets few calls)', () => {
    const verdict = judge(
      window([metrics(0, 0)], [metrics(2, 3)]),
      window([metrics(0, 0)], [metrics(300, 0)]),
      defaultThresholds,
    );
    expect(verdict.outcome).toBe('fail');
    expect(verdict.reasons).toEqual([
      'FAILED: 3 of 5 canary calls failed; even if the next 195 succeeded, success would be 98.50 % < 99 %',
    ]);
  });
});
