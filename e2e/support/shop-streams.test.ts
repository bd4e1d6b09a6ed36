import { describe, expect, it } from 'vitest';
import { shopStreamNames } from './shop-streams.ts';

describe('the streams a fresh shop purges', () => {
  it("are the shop's event contexts and queues", () => {
    const names = shopStreamNames();
    for (const name of ['EVENTS_ORDER', 'EVENTS_PAYMENT', 'EVENTS_LEGACY', 'EVENTS_USER', 'EVENTS_PRODUCT'])
      expect(names).toContain(name);
    for (const name of ['QUEUE_PAYMENT_COMMANDS', 'QUEUE_INVENTORY_COMMANDS', 'QUEUE_ORDER_SAGA-REPLIES'])
      expect(names).toContain(name);
  });

  it('leave the streams of suites that share the server alone', () => {
    // The chassis suites' streams (messaging crash tests, consumer tests, event log, dedupe, bench).
    const names = shopStreamNames();
    for (const name of ['EVENTS_CRASH', 'EVENTS_CTEST', 'EVENTS_TEST', 'EVENTS_LOGTEST', 'EVENTS_RTEST'])
      expect(names).not.toContain(name);
    expect([...names].every((name) => /^(EVENTS|QUEUE)_/.test(name))).toBe(true);
  });
});
