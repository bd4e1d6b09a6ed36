import type { Consumer, JsMsg } from '@nats-io/jetstream';
import type { Logger } from '../../logging/create-logger.ts';
import { WakeSignal } from '../../wake-signal.ts';
import type { KeyedDispatcher } from '../keyed-dispatcher.ts';
import type { Delivery } from '../message-bus.port.ts';

export interface PartitionWorkerSettings {
  /** Looks the durable consumer up; retried until it answers or the worker stops. */
  consumer: () => Promise<Consumer>;
  destination: string;
  keyHeader: string;
  visibilityTimeoutMs: number;
  renewWhileHandling: boolean;
  /** Messages pulled per request; the consumer's `max_ack_pending` caps those in hand. */
  pullBatch: number;
  logger: Logger;
  /** Shared by the member's partitions: bounds deliveries in flight, keeps each key in order. */
  dispatcher: KeyedDispatcher;
  onDelivery: (delivery: Delivery) => Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
/** The shortest pull nats.js allows; also how long a stopping worker may wait for its last pull. */
const PULL_EXPIRES_MS = 1_000;
const PULL_GRACE_MS = 250;

/**
 * Consumes one partition of one destination for one group while this member holds its lease. It
 * pulls in batches and hands each message to the dispatcher, which runs different keys at once
 * and one key in order. A retry is waited out holding the message (and so its key) while telling
 * the server it is still being worked on: a later message of the same key cannot overtake it.
 * When the worker stops, messages not yet handled are handed back (nak) in order, once its last
 * pull has ended: handed back while a pull is open, the server would send them straight back to
 * it, and the churn would shuffle their order for the next owner.
 */
export class NatsPartitionWorker {
  readonly #settings: PartitionWorkerSettings;
  readonly #signal = new WakeSignal();
  readonly #inFlight = new Set<Promise<void>>();
  /** Messages received after stop() began, or released from a retry by it, in each key's order. */
  readonly #handBack: JsMsg[] = [];
  #running = false;
  #loop: Promise<void> | undefined;

  constructor(settings: PartitionWorkerSettings) {
    this.#settings = settings;
  }

  /**
   * Starts pulling. `fromDeadOwner`: the partition was taken from a member that died holding
   * messages; those come back after the visibility timeout and must be redelivered before anything
   * later of their keys, so pulling waits that long if the server counts any as unacknowledged.
   */
  start(fromDeadOwner = false): void {
    this.#running = true;
    this.#loop = this.#run(fromDeadOwner);
  }

  /** Stops pulling and waits until every message in hand is acknowledged or handed back. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#signal.wake();
    await this.#loop;
    await Promise.all(this.#inFlight);
    for (const message of this.#handBack.splice(0)) message.nak();
  }

  async #run(fromDeadOwner: boolean): Promise<void> {
    const { pullBatch, dispatcher, keyHeader, visibilityTimeoutMs } = this.#settings;
    let consumer: Consumer | undefined;
    let waitForDeadOwner = fromDeadOwner;
    while (this.#running) {
      try {
        consumer ??= await this.#settings.consumer();
        if (waitForDeadOwner) {
          const { num_ack_pending: unacknowledged } = await consumer.info();
          waitForDeadOwner = false;
          if (unacknowledged > 0) await this.#signal.sleep(visibilityTimeoutMs);
          continue;
        }
        // Bounded pulls, each read to its end: when the worker stops no message is left in
        // transit to it, so the partition's next owner sees every one handed back, in order.
        const batch = await consumer.fetch({ max_messages: pullBatch, expires: PULL_EXPIRES_MS });
        // NATS 2.9 does not always tell a pull that has had messages that it expired, and nats.js
        // then waits for two missed heartbeats (one more second). Past the expiry (plus time for
        // what is already on the wire) the server sends the pull nothing more, so end it here.
        const expired = setTimeout(() => batch.stop(), PULL_EXPIRES_MS + PULL_GRACE_MS);
        try {
          for await (const message of batch) {
            const key = message.headers?.get(keyHeader) ?? '';
            const { settled } = await dispatcher.admit(key, () => this.#handle(message, key));
            this.#inFlight.add(settled);
            void settled.then(() => this.#inFlight.delete(settled));
          }
        } finally {
          clearTimeout(expired);
        }
      } catch (error) {
        if (!this.#running) break;
        this.#settings.logger.warn(
          { error, destination: this.#settings.destination },
          'NATS consumer failed; retrying',
        );
        await this.#signal.sleep(500);
      }
    }
  }

  async #handle(message: JsMsg, key: string): Promise<void> {
    const { destination, onDelivery, logger } = this.#settings;
    if (!this.#running) {
      this.#handBack.push(message);
      return;
    }
    let envelope: unknown;
    try {
      envelope = message.json();
    } catch {
      envelope = message.string();
    }
    const messageId = message.headers?.get('Nats-Msg-Id') ?? `seq-${message.seq}`;
    for (let localRetries = 0; ; localRetries++) {
      let retryIn: number | undefined;
      const delivery: Delivery = {
        messageId,
        destination,
        key,
        envelope,
        attempt: message.info.deliveryCount + localRetries,
        ack: async () => message.ack(),
        retryLater: async (delayMs) => {
          retryIn = delayMs;
        },
      };
      // Renewed while the handler runs, so the ack wait can be short: what a killed member held is
      // redelivered within one ack wait, and a slow handler keeps its message.
      const renewing = setInterval(
        () => this.#settings.renewWhileHandling && message.working(),
        Math.max(50, Math.floor(this.#settings.visibilityTimeoutMs / 3)),
      );
      try {
        await onDelivery(delivery);
      } catch (error) {
        logger.error({ error, destination, message_id: messageId }, 'delivery handler threw');
        retryIn = 1_000;
      } finally {
        clearInterval(renewing);
      }
      if (retryIn === undefined) return;
      await this.#holdFor(message, retryIn);
      if (!this.#running) {
        // Handed back without its delay, ahead of the later messages of its key.
        this.#handBack.push(message);
        return;
      }
    }
  }

  /** Waits, renewing the message's visibility so the server does not hand it to another member. */
  async #holdFor(message: JsMsg, ms: number): Promise<void> {
    const renewEvery = Math.max(50, Math.floor(this.#settings.visibilityTimeoutMs / 2));
    for (let waited = 0; waited < ms && this.#running; waited += renewEvery) {
      message.working();
      await sleep(Math.min(renewEvery, ms - waited));
    }
  }
}
