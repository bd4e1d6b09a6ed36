import { describe, expect, it, vi } from 'vitest';
import { Registry, WATCH_MS } from './registry.ts';

/** A watch as a service's client makes it: parked until the registry moves past `after`. */
const watch = (registry: Registry, watcher: string, after: number, signal?: AbortSignal) =>
  registry.next(after, 10_000, signal, watcher);

describe('the registry: when has every watcher applied a change', () => {
  it('knows at once when nobody watches by name', async () => {
    const registry = new Registry(() => []);
    registry.changed();
    expect(await registry.propagated(registry.revision, 1_000)).toBe(true);
  });

  it('waits until every watcher has asked past the change, which it asks only once it applied it', async () => {
    const registry = new Registry(() => []);
    const before = registry.revision;
    const gateway = watch(registry, 'gateway', before);
    const order = watch(registry, 'order', before);
    registry.changed();
    // Both parked watches are answered with the new revision…
    expect((await gateway).revision).toBe(before + 1);
    expect((await order).revision).toBe(before + 1);
    let settled: boolean | undefined;
    const propagated = registry.propagated(registry.revision, 5_000).then((result) => {
      settled = result;
      return result;
    });
    // …but until each asks again with it, a caller may still hold the old list.
    void watch(registry, 'gateway', before + 1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(settled).toBeUndefined();
    void watch(registry, 'order', before + 1);
    expect(await propagated).toBe(true);
  });

  it('gives up after its time when a watcher lags, and says so', async () => {
    const registry = new Registry(() => []);
    const before = registry.revision;
    void watch(registry, 'stalled', before);
    registry.changed();
    const started = performance.now();
    expect(await registry.propagated(registry.revision, 150)).toBe(false);
    expect(performance.now() - started).toBeGreaterThanOrEqual(140);
  });

  it('does not wait for a watcher whose process went away while its watch was parked', async () => {
    const registry = new Registry(() => []);
    const now = registry.revision;
    const leaving = new AbortController();
    const parked = watch(registry, 'stopped-process', now, leaving.signal);
    // Its process stops: the parked watch's connection closes.
    leaving.abort();
    await parked;
    registry.changed();
    const started = performance.now();
    expect(await registry.propagated(registry.revision, 2_000)).toBe(true);
    expect(performance.now() - started).toBeLessThan(100);
  });

  it('counts a watcher that waited a whole watch (minutes) as alive until it asks again', async () => {
    vi.useFakeTimers();
    try {
      const registry = new Registry(() => []);
      const before = registry.revision;
      const parked = registry.next(before, WATCH_MS, undefined, 'gateway');
      // Nothing changed for most of a watch: the watcher is still there, waiting.
      vi.advanceTimersByTime(WATCH_MS - 10_000);
      registry.changed();
      expect((await parked).revision).toBe(before + 1);
      const propagated = registry.propagated(registry.revision, 1_000);
      vi.advanceTimersByTime(1_000);
      // It has not asked past the change yet: a drained instance must not be stopped.
      expect(await propagated).toBe(false);
      void registry.next(before + 1, WATCH_MS, undefined, 'gateway');
      expect(await registry.propagated(registry.revision, 1_000)).toBe(true);
    } finally {
      vi.useRealTimers();
    }
  });
});
