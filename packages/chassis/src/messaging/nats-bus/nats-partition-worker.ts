import type { Consumer, ConsumerMessages, JsMsg } from '@nats-io/jetstream';
import type { Logger } from '../../logging/create-logger.ts';
import { WakeSignal } from '../../wake-signal.ts';
import type { Delivery } from '../message-bus.port.ts';

export interface PartitionWorkerSettings {
  consumer: Consumer;
  destination: string;
  keyHeader: string;
  visibilityTimeoutMs: number;
  logger: Logger;
  onDelivery: (delivery: Delivery) => Promise<void>;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Consumes one partition of one destination for one group, a message at a time. A retry is waited
 * out here, holding the message (and so its partition) while telling the server it is still being
 * worked on: a later message of the same key cannot overtake it.
 */
export class NatsPartitionWorker {
  readonly #settings: PartitionWorkerSettings;
  readonly #signal = new WakeSignal();
  #running = false;
  #loop: Promise<void> | undefined;
  #messages: ConsumerMessages | undefined;

  constructor(settings: PartitionWorkerSettings) {
    this.#settings = settings;
  }

  start(): void {
    this.#running = true;
    this.#loop = this.#run();
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#signal.wake();
    await this.#messages?.close().catch(() => undefined);
    await this.#loop;
  }

  async #run(): Promise<void> {
    while (this.#running) {
      try {
        this.#messages = await this.#settings.consumer.consume({ max_messages: 1 });
        for await (const message of this.#messages) {
          await this.#handle(message);
          if (!this.#running) break;
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

  async #handle(message: JsMsg): Promise<void> {
    const { destination, keyHeader, onDelivery, logger } = this.#settings;
    let envelope: unknown;
    try {
      envelope = message.json();
    } catch {
      envelope = message.string();
    }
    const messageId = message.headers?.get('Nats-Msg-Id') ?? `seq-${message.seq}`;
    const key = message.headers?.get(keyHeader) ?? '';
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
      try {
        await onDelivery(delivery);
      } catch (error) {
        logger.error({ error, destination, message_id: messageId }, 'delivery handler threw');
        retryIn = 1_000;
      }
      if (retryIn === undefined || !this.#running) return;
      await this.#holdFor(message, retryIn);
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
