import { describe, expect, it } from 'vitest';
import { ESTIMATE_MARGIN_MS, nextTrackingAt, TRACK_AT_MOST_EVERY_MS } from './tracking-schedule.ts';

const now = new Date('2026-12-06T12:00:00.000Z');
const after = (ms: number) => new Date(now.getTime() + ms);

describe('nextTrackingAt', () => {
  it('asks again after the interval when the carrier gives no estimate', () => {
    expect(nextTrackingAt(now, 1_000, null)).toEqual(after(1_000));
  });

  it('asks just after the estimated delivery when that is later than the interval', () => {
    expect(nextTrackingAt(now, 1_000, after(3_000))).toEqual(after(3_000 + ESTIMATE_MARGIN_MS));
  });

  it('keeps to the interval when the estimate falls within it, or has passed (a late parcel)', () => {
    expect(nextTrackingAt(now, 1_000, after(500))).toEqual(after(1_000));
    expect(nextTrackingAt(now, 1_000, after(-60_000))).toEqual(after(1_000));
  });

  it('still asks about a parcel due in days at least hourly', () => {
    expect(nextTrackingAt(now, 1_000, after(3 * 24 * 3_600_000))).toEqual(after(TRACK_AT_MOST_EVERY_MS));
  });

  it('never asks sooner than the interval, however long it is', () => {
    expect(nextTrackingAt(now, 2 * TRACK_AT_MOST_EVERY_MS, after(3 * TRACK_AT_MOST_EVERY_MS))).toEqual(
      after(2 * TRACK_AT_MOST_EVERY_MS),
    );
  });

  it('ignores an estimate it cannot read', () => {
    expect(nextTrackingAt(now, 1_000, new Date('not a date'))).toEqual(after(1_000));
  });
});
