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

  it('gives each instance its weight’s share when weights differ (a canary at 5 %), and an equal share again after', () => {
    const balancer = new InstanceBalancer();
    const weights: Record<string, number> = { stable1: 47.5, stable2: 47.5, canary: 5 };
    balancer.update(['stable1', 'stable2', 'canary'], (address) => weights[address] ?? 1);
    const picked = spread(balancer, 10_000);
    expect(picked.canary ?? 0).toBeGreaterThan(350);
    expect(picked.canary ?? 0).toBeLessThan(650);
    expect(picked.stable1 ?? 0).toBeGreaterThan(4_400);
    // Weight 0: none while another is left.
    balancer.update(['stable1', 'canary'], (address) => (address === 'canary' ? 0 : 1));
    expect(spread(balancer, 500).canary).toBeUndefined();
    balancer.update(['stable1', 'canary']);
    expect(spread(balancer, 1_000).canary ?? 0).toBeGreaterThan(400);
  });

  it('sends a call to the instance it prefers (a tester’s request: the canary) while it is in the pool', () => {
    const at = clock();
    const balancer = new InstanceBalancer({}, { now: at.now });
    balancer.update(['stable', 'canary'], (address) => (address === 'canary' ? 0 : 1));
    const prefer = (address: string) => address === 'canary';
    for (let i = 0; i < 20; i += 1) {
      const lease = balancer.pick(new Set(), prefer);
      expect(lease?.address).toBe('canary');
      lease?.end('answered');
    }
    // Ejected (nothing listens), the call goes to another instance rather than fail.
    balancer.pick(new Set(), prefer)?.end('unreachable');
    expect(balancer.pick(new Set(), prefer)?.address).toBe('stable');
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
