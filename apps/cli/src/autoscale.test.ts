import { describe, expect, it } from 'vitest';
import { decideScale, parseAutoscale, type ScalePolicy } from './autoscale.ts';
import { serviceCatalog } from './services.ts';
import { reachedByAddress } from './supervisor/releases/platform-releases.ts';

const fixed = reachedByAddress(serviceCatalog);
const policy: ScalePolicy = { upAbove: 0.6, upAfter: 3, downBelow: 0.15, downAfter: 4, cooldownMs: 10_000 };
const range = { min: 1, max: 3 };

describe('--autoscale', () => {
  it('reads service=min..max for services found through the registry', () => {
    expect(parseAutoscale('catalog=1..4, order=2..3', serviceCatalog, fixed)).toEqual(
      new Map([
        ['catalog', { min: 1, max: 4 }],
        ['order', { min: 2, max: 3 }],
      ]),
    );
    expect(parseAutoscale('', serviceCatalog, fixed).size).toBe(0);
  });

  it('names the mistake', () => {
    const error = (text: string) => () => parseAutoscale(text, serviceCatalog, fixed);
    expect(error('catalog=4')).toThrow(/expected service=min\.\.max/);
    expect(error('catalog=3..2')).toThrow(/out of range/);
    expect(error('catalog=0..2')).toThrow(/out of range/);
    expect(error('catalog=1..9')).toThrow(/out of range/);
    expect(error('gateway=1..2')).toThrow(/fixed address/);
    expect(error('carrier=1..2')).toThrow(/fixed address/);
    // Found by name now, like every service of the shop: identity and the read models scale too.
    expect(parseAutoscale('identity=1..2,order-view=1..2', serviceCatalog, fixed).size).toBe(2);
    expect(error('nope=1..2')).toThrow(/no such service/);
    expect(error('catalog=1..2,catalog=1..3')).toThrow(/named twice/);
  });

  it('knows which services are reached at a fixed address: the edge and the outside world only', () => {
    expect([...fixed].sort()).toEqual(['carrier', 'gateway', 'payment-provider', 'smtp-sink']);
  });
});

describe('deciding a scale change', () => {
  it('adds one only after the CPU stayed high for upAfter samples, and not past the maximum', () => {
    expect(decideScale([0.9, 0.9], 1, range, policy, 60_000)).toBeUndefined();
    expect(decideScale([0.2, 0.9, 0.9, 0.9], 1, range, policy, 60_000)?.change).toBe(1);
    expect(decideScale([0.9, 0.5, 0.9], 1, range, policy, 60_000)).toBeUndefined();
    expect(decideScale([0.9, 0.9, 0.9], 3, range, policy, 60_000)).toBeUndefined();
  });

  it('removes one only after the CPU stayed low for downAfter samples, and not below the minimum', () => {
    expect(decideScale([0.1, 0.1, 0.1], 2, range, policy, 60_000)).toBeUndefined();
    expect(decideScale([0.1, 0.05, 0.1, 0.0], 2, range, policy, 60_000)?.change).toBe(-1);
    expect(decideScale([0.1, 0.05, 0.1, 0.0], 1, range, policy, 60_000)).toBeUndefined();
  });

  it('waits out the cooldown, and says why it changed', () => {
    expect(decideScale([0.9, 0.9, 0.9], 1, range, policy, 5_000)).toBeUndefined();
    expect(decideScale([0.9, 0.8, 0.7], 1, range, policy, 10_000)?.why).toMatch(/90 %, 80 %, 70 % of a core/);
  });
});
