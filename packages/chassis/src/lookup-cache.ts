/**
 * Answers of another service's lookup by key, kept for `ttlMs`, so that a hot path does not call it
 * every time: pricing keeps customers' segments, notification their contacts (one gRPC call each
 * per order, all of the customer service's CPU in an order). The owner's change event forgets a key
 * at once (`forget`); the TTL bounds what a missed event costs, since with several instances of a
 * consumer only one of them gets each event. Bounded: past `maxEntries` the oldest entry goes. A
 * lookup under way while any key was forgotten does not fill the cache (it may have read the value
 * before the change), nor does an answer `keep` refuses (an absence, which may be filled soon). A
 * TTL of 0 keeps nothing.
 */
export class LookupCache<Value> {
  readonly #lookup: (key: string) => Promise<Value>;
  readonly #ttlMs: number;
  readonly #maxEntries: number;
  readonly #now: () => number;
  readonly #keep: (value: Value) => boolean;
  readonly #entries = new Map<string, { value: Value; learnedAt: number }>();
  #changes = 0;

  constructor(
    lookup: (key: string) => Promise<Value>,
    options: { ttlMs: number; maxEntries?: number; now?: () => number; keep?: (value: Value) => boolean },
  ) {
    this.#lookup = lookup;
    this.#ttlMs = options.ttlMs;
    this.#maxEntries = options.maxEntries ?? 10_000;
    this.#now = options.now ?? Date.now;
    this.#keep = options.keep ?? (() => true);
  }

  /** The value, from the cache or the lookup. */
  readonly get = async (key: string): Promise<Value> => {
    const entry = this.#entries.get(key);
    if (entry && this.#now() - entry.learnedAt < this.#ttlMs) return entry.value;
    this.#entries.delete(key);
    const changes = this.#changes;
    const value = await this.#lookup(key);
    if (changes === this.#changes) this.remember(key, value);
    return value;
  };

  /** Keeps a value learnt otherwise (from an event that carries it), as if looked up now. */
  remember(key: string, value: Value): void {
    if (this.#ttlMs <= 0 || !this.#keep(value)) return;
    this.#entries.delete(key);
    this.#entries.set(key, { value, learnedAt: this.#now() });
    if (this.#entries.size > this.#maxEntries) {
      const oldest = this.#entries.keys().next();
      if (!oldest.done) this.#entries.delete(oldest.value);
    }
  }

  /** The key's owner changed it: its next `get` asks again. */
  forget(key: string): void {
    this.#changes += 1;
    this.#entries.delete(key);
  }
}
