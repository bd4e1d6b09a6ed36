import { type State, steps } from './rate-limit-algorithms.ts';
import type { Decision, RateLimitPolicy, RateLimitStore } from './rate-limit-policy.ts';

/** Limits for one gateway instance. Entries idle for a whole window are dropped on the way. */
export class MemoryRateLimitStore implements RateLimitStore {
  readonly #states = new Map<string, { state: State; touchedAt: number; windowMs: number }>();
  #lastSweep = 0;

  async hit(key: string, policy: RateLimitPolicy, now: number): Promise<Decision> {
    const id = `${policy.algorithm}:${key}`;
    const { decision, state } = steps[policy.algorithm](this.#states.get(id)?.state, policy, now);
    this.#states.set(id, { state, touchedAt: now, windowMs: policy.windowMs });
    this.#sweep(now);
    return decision;
  }

  async close(): Promise<void> {
    this.#states.clear();
  }

  #sweep(now: number): void {
    if (now - this.#lastSweep < 60_000) return;
    this.#lastSweep = now;
    for (const [id, entry] of this.#states)
      if (now - entry.touchedAt > 2 * entry.windowMs) this.#states.delete(id);
  }
}
