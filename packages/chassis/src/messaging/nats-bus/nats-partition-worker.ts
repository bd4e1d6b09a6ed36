import type { Consumer, JsMsg } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Logger } from '../../logging/create-logger.ts';
import { WakeSignal } from '../../wake-signal.ts';
import type { KeyedDispatcher } from '../keyed-dispatcher.ts';
import type { Delivery } from '../message-bus.port.ts';

export interface PartitionWorkerSettings {
  /** Looks the durable consumer up; retried until it answers or the worker stops. */
  consumer: () => Promise<Consumer>;
  /** For the idle wake-up: a plain subscription to the partition's subject sees each new message. */
  connection: NatsConnection;
  subject: string;
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
/** An idle partition looks at its consumer this often in case a wake-up was missed (a reconnect). */
const IDLE_SAFETY_POLL_MS = 30_000;

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
  /** Messages in hand (handled or held for a retry) → when their ack wait last began, locally. */
  readonly #held = new Map<JsMsg, number>();
  #renewal: NodeJS.Timeout | undefined;
  #running = false;
  #loop: Promise<void> | undefined;

  constructor(settings: PartitionWorkerSettings) {
    this.#settings = settings;
  }

  /**
   * Starts pulling. `predecessorHoldsUntil` (on `performance.now()`'s clock): until then a member
   * that died or stalled holding messages of this partition may still hold them; they come back
   * once their ack wait lapses and must be redelivered before anything later of their keys, so
   * pulling waits until then if the server counts any as unacknowledged.
   */
  start(predecessorHoldsUntil = 0): void {
    this.#running = true;
    const { visibilityTimeoutMs, renewWhileHandling } = this.#settings;
    // Every message in hand renewed in one go (the `+WPI`s leave in one write), not a timer each.
    this.#renewal = setInterval(
      () => {
        if (!renewWhileHandling) return;
        const now = performance.now();
        for (const [message, since] of this.#held) {
          // Lapsed already (the process stalled): it may be another member's now; leave it be.
          if (now - since >= visibilityTimeoutMs) continue;
          message.working();
          this.#held.set(message, now);
        }
      },
      Math.max(50, Math.floor(visibilityTimeoutMs / 3)),
    );
    this.#renewal.unref();
    this.#loop = this.#run(predecessorHoldsUntil);
  }

  /** Stops pulling and waits until every message in hand is acknowledged or handed back. */
  async stop(): Promise<void> {
    this.#running = false;
    this.#signal.wake();
    await this.#loop;
    await Promise.all(this.#inFlight);
    clearInterval(this.#renewal);
    for (const message of this.#handBack.splice(0)) message.nak();
  }

  async #run(predecessorHoldsUntil: number): Promise<void> {
    const { pullBatch, dispatcher, keyHeader } = this.#settings;
    let consumer: Consumer | undefined;
    // Even when that time has passed (this process was slow to start), what the predecessor held
    // is gathered first: the server marks a lapsed message for redelivery on its own timer, late
    // when it is loaded, and a pull made before then hands out a key's later messages instead.
    let waitForPredecessor = predecessorHoldsUntil > 0;
    /**
     * Messages a predecessor left unacknowledged: pulled first, gathered until all are here (the
     * server may redeliver them over several pulls, as their ack waits lapse one by one), then
     * handed on in stream order. Gathering ends by `gatherUntil` whatever came.
     */
    let leftOver = 0;
    const gathered: JsMsg[] = [];
    let gatherUntil = 0;
    let idle = false;
    while (this.#running) {
      try {
        consumer ??= await this.#settings.consumer();
        if (waitForPredecessor) {
          const { num_ack_pending: unacknowledged } = await consumer.info();
          waitForPredecessor = false;
          leftOver = unacknowledged;
          this.#debug({ left_over: unacknowledged }, 'partition taken over');
          if (unacknowledged > 0) {
            const wait = predecessorHoldsUntil - performance.now();
            if (wait > 0) await this.#signal.sleep(wait);
            gatherUntil = performance.now() + 2 * this.#settings.visibilityTimeoutMs;
          }
          continue;
        }
        if (idle) {
          idle = false;
          await this.#waitForWork(consumer);
          continue;
        }
        // Bounded pulls, each read to its end: when the worker stops no message is left in
        // transit to it, so the partition's next owner sees every one handed back, in order.
        const batch = await consumer.fetch({
          // Exactly the predecessor's count first: the pull then ends by itself once they are here
          // (stopping it early could drop a message already on the wire).
          max_messages: leftOver > 0 ? leftOver : pullBatch,
          expires: PULL_EXPIRES_MS,
        });
        // NATS 2.9 does not always tell a pull that has had messages that it expired, and nats.js
        // then waits for two missed heartbeats (one more second). Past the expiry (plus time for
        // what is already on the wire) the server sends the pull nothing more, so end it here.
        const expired = setTimeout(() => batch.stop(), PULL_EXPIRES_MS + PULL_GRACE_MS);
        let received = 0;
        const admit = async (message: JsMsg) => {
          received += 1;
          // Its ack wait runs from now; renewed while it waits for its key and while handled.
          this.#held.set(message, performance.now());
          const key = message.headers?.get(keyHeader) ?? '';
          const { settled } = await dispatcher.admit(key, () => this.#handle(message, key));
          this.#inFlight.add(settled);
          void settled.then(() => this.#inFlight.delete(settled));
        };
        try {
          if (leftOver > 0) {
            // A predecessor's lapsed messages come back in the order the server's redelivery
            // queue holds them, which need not be the stream's (NATS 2.9 marks a batch of lapsed
            // messages together, and one renewal timer renewed them together), and not always in
            // one pull (on a loaded server a later message's ack wait was found lapsed before an
            // earlier one's): gathered until all are here, then handed on in stream order, so a
            // key's later message cannot overtake its earlier. Renewed while they wait.
            // Only a redelivery is one of them: a pull made before the last of them lapses gets new
            // messages instead (a key's later ones, on a loaded machine), which wait with the rest.
            let redelivered = 0;
            for await (const message of batch) {
              received += 1;
              if (message.redelivered) redelivered += 1;
              this.#held.set(message, performance.now());
              gathered.push(message);
            }
            leftOver = Math.max(0, leftOver - redelivered);
            this.#debug(
              { received, redelivered, still_out: leftOver },
              'gathering what the predecessor held',
            );
            if (leftOver > 0 && performance.now() < gatherUntil) continue;
            leftOver = 0;
            for (const message of gathered.splice(0).sort((a, b) => a.seq - b.seq)) await admit(message);
          } else {
            for await (const message of batch) await admit(message);
          }
        } finally {
          clearTimeout(expired);
        }
        idle = received === 0;
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

  /**
   * An idle partition sends no pulls: a plain subscription to its subject wakes it when a message
   * is published, and a pull resumes. Subscribed before looking, so nothing published meanwhile is
   * missed; messages unacknowledged by nobody here (another member's lapsing, handed back) mean
   * pulling on.
   */
  async #waitForWork(consumer: Consumer): Promise<void> {
    const { connection, subject } = this.#settings;
    const wakeUp = connection.subscribe(subject, { max: 1, callback: () => this.#signal.wake() });
    try {
      await connection.flush();
      const info = await consumer.info();
      if (info.num_pending > 0 || info.num_ack_pending > this.#held.size) return;
      this.#debug({ held: this.#held.size, ack_pending: info.num_ack_pending }, 'partition idle');
      await this.#signal.sleep(IDLE_SAFETY_POLL_MS);
    } finally {
      wakeUp.unsubscribe();
    }
  }

  #debug(fields: Record<string, unknown>, message: string): void {
    this.#settings.logger.debug({ ...fields, subject: this.#settings.subject }, message);
  }

  async #handle(message: JsMsg, key: string): Promise<void> {
    if (!this.#running) {
      this.#held.delete(message);
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
    try {
      await this.#handleHeld(message, key, envelope, messageId);
    } finally {
      this.#held.delete(message);
    }
  }

  async #handleHeld(message: JsMsg, key: string, envelope: unknown, messageId: string): Promise<void> {
    const { destination, onDelivery, logger, visibilityTimeoutMs } = this.#settings;
    for (let localRetries = 0; ; localRetries++) {
      let retryIn: number | undefined;
      const delivery: Delivery = {
        messageId,
        destination,
        key,
        envelope,
        attempt: message.info.deliveryCount + localRetries,
        ack: async () => {
          // Fenced: once its ack wait has lapsed unrenewed (this process stalled), the server may
          // have handed the message to another member, and this ack would end that member's
          // delivery. Left unacknowledged, it comes back and the inbox recognises it as done.
          const since = this.#held.get(message) ?? Number.NEGATIVE_INFINITY;
          if (performance.now() - since >= visibilityTimeoutMs) {
            logger.warn(
              { destination, message_id: messageId },
              'not acknowledging a delivery whose ack wait lapsed',
            );
            return;
          }
          message.ack();
        },
        retryLater: async (delayMs) => {
          retryIn = delayMs;
        },
      };
      // Renewed while the handler runs (by the worker's one timer), so the ack wait can be short:
      // what a killed member held is redelivered within one ack wait, and a slow handler keeps it.
      try {
        await onDelivery(delivery);
      } catch (error) {
        logger.error({ error, destination, message_id: messageId }, 'delivery handler threw');
        retryIn = 1_000;
      }
      if (retryIn === undefined) return;
      await this.#holdFor(retryIn);
      if (!this.#running) {
        // Handed back without its delay, ahead of the later messages of its key.
        this.#handBack.push(message);
        return;
      }
    }
  }

  /** Waits, the message still in hand (the worker's timer renews it), until the retry or a stop. */
  async #holdFor(ms: number): Promise<void> {
    const step = Math.max(50, Math.floor(this.#settings.visibilityTimeoutMs / 3));
    for (let waited = 0; waited < ms && this.#running; waited += step)
      await sleep(Math.min(step, ms - waited));
  }
}
