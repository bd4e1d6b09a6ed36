import type { SegmentLookup } from './pricing-service.ts';

/**
 * Customers' segments as pricing last learned them, so a quote does not ask the customer service
 * every time (a gRPC call was a fifth of an order's pricing and customer CPU). A `customer.updated`
 * event forgets the customer's entry at once; an entry is also forgotten `ttlMs` after it was
 * learned, because with several pricing instances only one of them consumes each event. Bounded:
 * past `maxEntries` the oldest entry goes. A lookup under way while any customer changed does not
 * fill the cache (it may have read the segment before the change).
 */
export class SegmentCache {
  readonly #lookup: SegmentLookup;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #entries = new Map<string, { segment: string; learnedAt: number }>();
  #changes = 0;

  constructor(lookup: SegmentLookup, options: { ttlMs: number; maxEntries?: number; now?: () => number }) {
    this.#lookup = lookup;
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
  }

  /** The segment, from the cache or the customer service. */
  readonly segmentOf: SegmentLookup = async (customerId) => {
    const entry = this.#entries.get(customerId);
    if (entry && this.#now() - entry.learnedAt < this.#ttlMs) return entry.segment;
    this.#entries.delete(customerId);
    const changes = this.#changes;
    const segment = await this.#lookup(customerId);
    if (this.#ttlMs > 0 && changes === this.#changes) {
      this.#entries.set(customerId, { segment, learnedAt: this.#now() });
      if (this.#entries.size > this.#maxEntries) {
        const oldest = this.#entries.keys().next();
        if (!oldest.done) this.#entries.delete(oldest.value);
      }
    }
    return segment;
  };

  /** A customer changed (`customer.updated`): its next quote asks the customer service again. */
  forget(customerId: string): void {
    this.#changes += 1;
    this.#entries.delete(customerId);
  }
}
