/**
 * Asked again this long after the carrier's estimated delivery, so that the carrier's clock has
 * passed it too (a parcel asked about a moment early is still "in transit" and costs a second call).
 */
export const ESTIMATE_MARGIN_MS = 50;

/** A parcel due in days is still asked about at least this often (a loss is noticed within it). */
export const TRACK_AT_MOST_EVERY_MS = 60 * 60 * 1000;

/**
 * When to ask the carrier about a parcel in transit again: `everyMs` from now, or, when the carrier
 * estimates its delivery later than that, just after the estimate (asking sooner would only hear
 * "in transit"), but never more than TRACK_AT_MOST_EVERY_MS ahead. A parcel late against its
 * estimate, or with none (or one that is not a time), is asked about every `everyMs`. With the
 * simulator's 3 s deliveries and the default 1 s this took three or four tracking calls a parcel to one.
 */
export function nextTrackingAt(now: Date, everyMs: number, estimatedDelivery: Date | null): Date {
  const soonest = now.getTime() + everyMs;
  const estimate = estimatedDelivery?.getTime();
  if (estimate === undefined || Number.isNaN(estimate) || estimate + ESTIMATE_MARGIN_MS <= soonest)
    return new Date(soonest);
  return new Date(
    Math.min(estimate + ESTIMATE_MARGIN_MS, now.getTime() + Math.max(everyMs, TRACK_AT_MOST_EVERY_MS)),
  );
}
