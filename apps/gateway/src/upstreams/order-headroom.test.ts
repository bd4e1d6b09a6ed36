import { describe, expect, it } from 'vitest';
import { OrderHeadroom, REPORT_FRESH_MS, type ReportedHeadroom } from './order-headroom.ts';

const report = (free: number, finishesPerSecond = 0, instance = 'a', limit = 20): ReportedHeadroom => ({
  instance,
  free,
  limit,
  finishesPerSecond,
});

const setUp = () => {
  const clock = { now: 0 };
  return { clock, headroom: new OrderHeadroom(() => clock.now) };
};

/** Starts calls while the estimate lets them go; how many went. */
const sendWhileRoom = (headroom: OrderHeadroom, most = 100) => {
  let sent = 0;
  while (sent < most && headroom.mayCall()) {
    headroom.started();
    sent += 1;
  }
  return sent;
};

describe('OrderHeadroom', () => {
  it('lets everything through until order has reported its room', () => {
    const { headroom } = setUp();
    expect(sendWhileRoom(headroom)).toBe(100);
  });

  it('lets through as many as order had free, counting the calls still out when it answered', () => {
    const { headroom } = setUp();
    headroom.started();
    headroom.started();
    headroom.started();
    // One answered with 3 free; two calls are still out and may not be in that count.
    headroom.answered(report(3));
    expect(sendWhileRoom(headroom)).toBe(1);
  });

  it('refills at half the rate orders finish, up to the limit', () => {
    const { clock, headroom } = setUp();
    headroom.started();
    headroom.answered(report(0, 20, 'a', 4));
    expect(headroom.mayCall()).toBe(false);
    clock.now = 99;
    expect(headroom.mayCall()).toBe(false);
    clock.now = 100;
    expect(sendWhileRoom(headroom)).toBe(1);
    clock.now = 350;
    expect(sendWhileRoom(headroom)).toBe(2);
    // The limit caps the refill: 0.9 s at 10 a second is 9, but order takes 4 at most.
    clock.now = 900;
    expect(sendWhileRoom(headroom)).toBe(1);
  });

  it('goes back to letting everything through once its news is a second old', () => {
    const { clock, headroom } = setUp();
    headroom.started();
    headroom.answered(report(0));
    expect(headroom.mayCall()).toBe(false);
    clock.now = REPORT_FRESH_MS + 1;
    expect(sendWhileRoom(headroom)).toBe(100);
  });

  it("takes order's refusal as no room anywhere, refilling from then at half the rate before", () => {
    const { clock, headroom } = setUp();
    headroom.started();
    headroom.answered(report(5, 20));
    headroom.started();
    clock.now = 50;
    headroom.refused();
    expect(headroom.mayCall()).toBe(false);
    // A quarter of 20 a second now: one place in 200 ms.
    clock.now = 249;
    expect(headroom.mayCall()).toBe(false);
    clock.now = 250;
    expect(sendWhileRoom(headroom)).toBe(1);
    // Refused again and again: a tenth of the rate at least (one in 500 ms).
    headroom.refused();
    for (let i = 0; i < 4; i += 1) {
      headroom.started();
      headroom.refused();
    }
    clock.now = 250 + 499;
    expect(headroom.mayCall()).toBe(false);
    clock.now = 250 + 500;
    expect(headroom.mayCall()).toBe(true);
    // Each order accepted earns 0.02 back: after ten, 0.3 of the rate, one place in 167 ms.
    for (let i = 0; i < 10; i += 1) {
      headroom.started();
      headroom.answered(report(0, 20));
    }
    clock.now += 160;
    expect(headroom.mayCall()).toBe(false);
    clock.now += 10;
    expect(headroom.mayCall()).toBe(true);
  });

  it('sums the room of every instance that reported', () => {
    const { headroom } = setUp();
    headroom.started();
    headroom.started();
    headroom.answered(report(2, 0, 'a'));
    headroom.answered(report(3, 0, 'b'));
    expect(sendWhileRoom(headroom)).toBe(5);
  });

  it('stops pacing when an answer reports nothing (that order runs no placement limit)', () => {
    const { headroom } = setUp();
    headroom.started();
    headroom.answered(report(0));
    expect(headroom.mayCall()).toBe(false);
    headroom.started();
    headroom.answered(undefined);
    expect(sendWhileRoom(headroom)).toBe(100);
  });

  it('does not count a failed call as room freed or taken', () => {
    const { headroom } = setUp();
    headroom.started();
    headroom.answered(report(1));
    headroom.started();
    headroom.failed();
    // The failed call may have been accepted: its place stays taken until the next report.
    expect(headroom.mayCall()).toBe(false);
  });
});
