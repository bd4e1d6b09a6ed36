import { describe, expect, it } from 'vitest';
import { type CallOutcome, InstanceBalancer } from './instance-balancer.ts';

const clock = () => {
  let now = 1_000;
  return { now: () => now, advance: (ms: number) => (now += ms) };
};

/** Picks and ends `count` calls, each answered unless `outcome` says otherwise; counts per instance. */
function spread(
  balancer: InstanceBalancer,
  count: number,
  outcome = (_address: string): CallOutcome => 'answered',
) {
  const picked: Record<string, number> = {};
  for (let i = 0; i < count; i += 1) {
    const lease = balancer.pick();
    if (!lease) throw new Error('no instance');
    picked[lease.address] = (picked[lease.address] ?? 0) + 1;
    lease.end(outcome(lease.address));
  }
  return picked;
}

describe('InstanceBalancer', () => {
  it('spreads calls over every instance, and away from one with calls outstanding', () => {
    const balancer = new InstanceBalancer();
    balancer.update(['a', 'b', 'c']);
    const picked = spread(balancer, 3_000);
    for (const address of ['a', 'b', 'c']) {
      expect(picked[address]).toBeGreaterThan(800);
      expect(picked[address]).toBeLessThan(1_200);
    }
    // b is slow: 50 of its calls are still in flight; it gets far fewer of the next calls.
    const held = Array.from({ length: 50 }, () => balancer.pick(new Set(['a', 'c'])));
    expect(held.every((lease) => lease?.address === 'b')).toBe(true);
    const next = spread(balancer, 300);
    expect(next.b ?? 0).toBeLessThan(40);
  });

  it('ejects an instance that refuses a connection at once, for longer while it keeps refusing, and takes it back when it answers', () => {
    const time = clock();
    const balancer = new InstanceBalancer({ unreachableEjectionMs: 250 }, time);
    const ejections: string[] = [];
    balancer.onEject = (event) => ejections.push(`${event.address} ${event.reason} ${event.forMs}`);
    balancer.update(['a', 'b', 'c']);
    const first = spread(balancer, 300, (address) => (address === 'c' ? 'unreachable' : 'answered'));
    expect(first.c).toBe(1);
    expect(balancer.counts).toEqual({ healthy: 2, total: 3 });
    time.advance(300);
    spread(balancer, 300, (address) => (address === 'c' ? 'unreachable' : 'answered'));
    expect(ejections).toEqual(['c unreachable 250', 'c unreachable 500']);
    // Back and answering: in the pool again and its record cleared.
    time.advance(600);
    const back = spread(balancer, 300);
    expect(back.c).toBeGreaterThan(60);
    expect(balancer.counts).toEqual({ healthy: 3, total: 3 });
  });

  it('ejects after five failures in a row, longer each time; an answer in between resets the count', () => {
    const time = clock();
    const balancer = new InstanceBalancer({ consecutiveFailures: 5, baseEjectionMs: 1_000 }, time);
    balancer.update(['a']);
    const fail = (times: number) => {
      for (let i = 0; i < times; i += 1) balancer.pick()?.end('failed');
    };
    fail(4);
    balancer.pick()?.end('answered');
    fail(4);
    expect(balancer.counts.healthy).toBe(1);
    fail(1);
    expect(balancer.counts.healthy).toBe(0);
    // Alone and ejected: still tried (panic), and a second ejection lasts twice as long.
    expect(balancer.pick(new Set())?.address).toBe('a');
    time.advance(1_001);
    expect(balancer.counts.healthy).toBe(1);
    fail(5);
    time.advance(1_500);
    expect(balancer.counts.healthy).toBe(0);
    time.advance(600);
    expect(balancer.counts.healthy).toBe(1);
  });

  it('offers another instance to a call one refused, and none once all were tried; forgets instances that are gone', () => {
    const balancer = new InstanceBalancer();
    balancer.update(['a', 'b']);
    const first = balancer.pick();
    const second = balancer.pick(new Set([first?.address ?? '']));
    expect(second?.address).not.toBe(first?.address);
    expect(balancer.pick(new Set(['a', 'b']))).toBeUndefined();
    balancer.update(['b']);
    expect(balancer.counts).toEqual({ healthy: 1, total: 1 });
    expect(spread(balancer, 10)).toEqual({ b: 10 });
  });
});
