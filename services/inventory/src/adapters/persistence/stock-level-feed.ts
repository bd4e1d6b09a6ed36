import { type Logger, listenToChannel } from '@mercato/chassis';
import { STOCK_CHANNEL } from './stock-channel.ts';

type Listener = (skus: readonly string[] | 'all') => void;

/**
 * Which SKUs' levels changed, as PostgreSQL announces them on commit. One LISTEN connection per
 * process fans out to every open stream; after a reconnect every watcher re-reads everything,
 * since changes may have been missed in between.
 */
export class StockLevelFeed {
  readonly #listeners = new Set<Listener>();
  readonly #listener;

  constructor(databaseUrl: string, logger: Logger) {
    this.#listener = listenToChannel({
      url: databaseUrl,
      channel: STOCK_CHANNEL,
      logger,
      onNotify: (payload) => {
        let skus: unknown;
        try {
          skus = JSON.parse(payload);
        } catch {
          return;
        }
        if (!Array.isArray(skus)) return;
        for (const listener of this.#listeners) listener(skus.map(String));
      },
      onReconnect: () => {
        for (const listener of this.#listeners) listener('all');
      },
    });
  }

  /**
   * Batches of changed SKUs among `skus`, coalesced while the consumer is busy, until `signal`
   * aborts. Subscribes at once, so a change between this call and the first read is not lost.
   */
  watch(skus: readonly string[], signal: AbortSignal): AsyncIterable<string[]> {
    const wanted = new Set(skus);
    const pending = new Set<string>();
    let wake: (() => void) | undefined;
    const listener: Listener = (changed) => {
      for (const sku of changed === 'all' ? wanted : changed) if (wanted.has(sku)) pending.add(sku);
      if (pending.size > 0) wake?.();
    };
    this.#listeners.add(listener);
    const onAbort = () => wake?.();
    signal.addEventListener('abort', onAbort, { once: true });
    const listeners = this.#listeners;

    return {
      async *[Symbol.asyncIterator]() {
        try {
          while (!signal.aborted) {
            if (pending.size === 0) await new Promise<void>((resolve) => (wake = resolve));
            wake = undefined;
            if (signal.aborted) break;
            const batch = [...pending];
            pending.clear();
            if (batch.length > 0) yield batch;
          }
        } finally {
          listeners.delete(listener);
          signal.removeEventListener('abort', onAbort);
        }
      },
    };
  }

  close(): Promise<void> {
    return this.#listener.close();
  }
}
