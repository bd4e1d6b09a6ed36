import type { Envelope } from '@mercato/contracts';
import { type Context, context } from '@opentelemetry/api';
import { inTransaction, type Pool } from '../db/database.ts';
import { runWithRequestContext } from '../logging/request-context.ts';
import { handleOnce, type MessageHandler } from './inbox.ts';

type Outcome = 'processed' | 'duplicate';

interface Pending {
  message: Envelope;
  trace: Context;
  resolve: (outcome: Outcome) => void;
  reject: (error: unknown) => void;
}

/**
 * Handles the messages a bus hands over together in one transaction: one inbox insert for all, the
 * handlers in turn, one commit. The inbox guarantee is the same as `handleOnce`; the database does
 * a fraction of the work. If any handler fails the batch rolls back and each message is handled on
 * its own, so one poison message never fails its neighbours. With batches of 1, every message is
 * handled alone and at once.
 */
export class InboxBatcher {
  readonly #pool: Pool;
  readonly #group: string;
  readonly #handler: MessageHandler;
  readonly #maxBatch: number;
  #queue: Pending[] = [];
  #scheduled = false;

  constructor(pool: Pool, group: string, handler: MessageHandler, maxBatch = 256) {
    this.#pool = pool;
    this.#group = group;
    this.#handler = handler;
    this.#maxBatch = maxBatch;
  }

  handle(message: Envelope): Promise<Outcome> {
    return new Promise((resolve, reject) => {
      this.#queue.push({ message, trace: context.active(), resolve, reject });
      if (this.#scheduled) return;
      this.#scheduled = true;
      // Everything handed over in this turn of the event loop goes into the same batch.
      setImmediate(() => {
        this.#scheduled = false;
        void this.#drain();
      });
    });
  }

  async #drain(): Promise<void> {
    if (this.#maxBatch === 1) {
      // Alone means at once, each in its own transaction: one waiting on something slow (a
      // provider) must not hold the rest. Awaited in turn, payment handled one command at a time
      // and its queue fell a minute behind in the crash test. The bus bounds how many are in hand.
      for (const item of this.#queue.splice(0)) void this.#alone(item);
      return;
    }
    while (this.#queue.length > 0) await this.#flush(this.#queue.splice(0, this.#maxBatch));
  }

  async #flush(batch: Pending[]): Promise<void> {
    if (batch.length === 1 && batch[0]) return this.#alone(batch[0]);
    try {
      const outcomes = await inTransaction(this.#pool, async (client) => {
        const ids = batch.map((item) => item.message.event_id);
        const { rows } = await client.query<{ message_id: string }>(
          `INSERT INTO mercato_inbox (group_name, message_id) SELECT $1, id FROM unnest($2::text[]) AS id
           ON CONFLICT DO NOTHING RETURNING message_id`,
          [this.#group, ids],
        );
        const fresh = new Set(rows.map((row) => row.message_id));
        const results: Outcome[] = [];
        for (const item of batch) {
          // A message delivered twice within one batch is handled for its first copy only.
          if (!fresh.delete(item.message.event_id)) {
            results.push('duplicate');
            continue;
          }
          const ids = { correlationId: item.message.correlation_id, requestId: item.message.event_id };
          await context.with(item.trace, () =>
            runWithRequestContext(ids, () => this.#handler(item.message, client)),
          );
          results.push('processed');
        }
        return results;
      });
      for (const [index, item] of batch.entries()) item.resolve(outcomes[index] ?? 'processed');
    } catch {
      await Promise.all(batch.map((item) => this.#alone(item)));
    }
  }

  async #alone(item: Pending): Promise<void> {
    const ids = { correlationId: item.message.correlation_id, requestId: item.message.event_id };
    try {
      item.resolve(
        await context.with(item.trace, () =>
          runWithRequestContext(ids, () => handleOnce(this.#pool, this.#group, item.message, this.#handler)),
        ),
      );
    } catch (error) {
      item.reject(error);
    }
  }
}
