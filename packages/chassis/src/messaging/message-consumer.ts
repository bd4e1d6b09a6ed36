import type { Envelope, MessageRegistry } from '@mercato/contracts';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import type { Histogram, Registry } from 'prom-client';
import { CALL_IN_PROGRESS } from '../calls/call-outside.ts';
import type { Pool } from '../db/database.ts';
import { CALL_IN_TRANSACTION } from '../db/transaction-scope.ts';
import { AppError, isAppError, notFound } from '../errors/app-error.ts';
import type { Logger } from '../logging/create-logger.ts';
import { runWithRequestContext } from '../logging/request-context.ts';
import { type CallsOutHandler, handleCallingOutOnce } from './calls-out-handler.ts';
import { consumerMetrics } from './consumer-metrics.ts';
import type { DeadLetterStore } from './dead-letter-store.ts';
import { handleOnce, type MessageHandler } from './inbox.ts';
import { InboxBatcher } from './inbox-batcher.ts';
import type { Delivery, DestinationKind, MessageBus, Subscription } from './message-bus.port.ts';
import { type BackoffPolicy, defaultBackoff, retryDelay } from './retry-backoff.ts';

interface ConsumerSettingsBase {
  group: string;
  kind: DestinationKind;
  destinations: readonly string[];
  /** Attempts before a message goes to the dead-letter store. */
  maxAttempts?: number;
  backoff?: BackoffPolicy;
  concurrency?: number;
  /**
   * How many deliveries may share one transaction (default 256). 1 for a handler that waits on
   * something slow outside the database (an HTTP provider), which must not hold its neighbours.
   */
  batchSize?: number;
}

/**
 * A consumer group: its destinations and either a `handler` run in one transaction with the inbox
 * row (database work only: a call to another process in it is refused), or a `callsOut` handler
 * run as claim, call, record (see `CallsOutHandler`).
 */
export type ConsumerDefinition = ConsumerSettingsBase &
  ({ handler: MessageHandler; callsOut?: never } | { callsOut: CallsOutHandler; handler?: never });

type ResolvedDefinition = Required<ConsumerSettingsBase> & Pick<ConsumerDefinition, 'handler' | 'callsOut'>;

export interface ConsumerSettings {
  pool: Pool;
  bus: MessageBus;
  messages: MessageRegistry;
  deadLetters: DeadLetterStore;
  logger: Logger;
  registry: Registry;
}

/**
 * What became of a delivery. `unacknowledged`: the effect committed but the bus did not take the
 * acknowledgement; it will redeliver, and the inbox will recognise the message as a duplicate.
 */
type Outcome = 'processed' | 'duplicate' | 'unacknowledged' | 'retried' | 'dead_lettered';

const tracer = trace.getTracer('mercato-messaging');

/**
 * A consumer group's handler run effectively once: each delivery is read (upcast, validated), handled
 * in a transaction with its inbox row, and acknowledged. Failures are retried with backoff and full
 * jitter; after `maxAttempts`, or at once if unreadable, the message goes to the dead-letter store.
 */
export class MessageConsumer {
  readonly definition: ResolvedDefinition;
  readonly #settings: ConsumerSettings;
  readonly #duration: Histogram<'group' | 'type' | 'outcome'>;
  readonly #batcher: InboxBatcher | undefined;
  #subscription: Subscription | undefined;

  constructor(definition: ConsumerDefinition, settings: ConsumerSettings) {
    this.definition = {
      maxAttempts: 5,
      backoff: defaultBackoff,
      concurrency: 16,
      batchSize: 256,
      ...definition,
    };
    this.#settings = settings;
    const { handler } = this.definition;
    this.#batcher = handler
      ? new InboxBatcher(settings.pool, this.definition.group, handler, this.definition.batchSize)
      : undefined;
    const metrics = consumerMetrics(settings.registry);
    this.#duration = metrics.duration;
    const { group, kind, destinations } = this.definition;
    metrics.trackLag(group, () => settings.bus.lag(group, kind, destinations));
  }

  async start(): Promise<void> {
    const { group, kind, destinations, concurrency } = this.definition;
    this.#subscription = await this.#settings.bus.subscribe({
      group,
      kind,
      destinations,
      concurrency,
      onDelivery: (delivery) => this.#deliver(delivery),
    });
  }

  /** Takes no new deliveries; resolves once those in flight are handled. `start()` subscribes again. */
  async stop(): Promise<void> {
    const subscription = this.#subscription;
    this.#subscription = undefined;
    await subscription?.stop();
  }

  /** Runs a dead letter through the handler again; on success it is marked replayed. */
  async replay(id: number): Promise<'processed' | 'duplicate'> {
    const letter = await this.#settings.deadLetters.get(id);
    if (!letter || letter.group !== this.definition.group) {
      throw notFound(
        'MESSAGING.DEAD_LETTER_NOT_FOUND',
        `No dead letter ${id} for group ${this.definition.group}`,
      );
    }
    const read = this.#settings.messages.readIncoming(letter.envelope);
    if (!read.ok) {
      throw new AppError({
        code: 'MESSAGING.UNREADABLE',
        kind: 'conflict',
        message: `still unreadable: ${read.reason}`,
      });
    }
    try {
      const outcome = await this.#handleOne(read.envelope);
      await this.#settings.deadLetters.markReplayed(id);
      return outcome;
    } catch (error) {
      await this.#settings.deadLetters.recordFailedReplay(id, describe(error));
      throw new AppError({
        code: 'MESSAGING.REPLAY_FAILED',
        kind: 'conflict',
        message: `replay failed: ${describe(error)}`,
        cause: error,
      });
    }
  }

  async #deliver(delivery: Delivery): Promise<void> {
    const started = performance.now();
    const read = this.#settings.messages.readIncoming(delivery.envelope);
    if (!read.ok) {
      await this.#deadLetter(delivery, read.reason);
      this.#observe('unknown', 'dead_lettered', started);
      return;
    }
    const message = read.envelope;
    const parent = propagation.extract(ROOT_CONTEXT, { traceparent: message.metadata.traceparent ?? '' });
    const outcome = await context.with(parent, () =>
      tracer.startActiveSpan(
        `${delivery.destination} process`,
        { kind: SpanKind.CONSUMER, attributes: { 'messaging.consumer.group.name': this.definition.group } },
        async (span) => {
          try {
            const handled = await this.#handle(delivery, message);
            if (handled.failure === undefined) span.setStatus({ code: SpanStatusCode.OK });
            else {
              span.recordException(handled.failure);
              span.setStatus({
                code: SpanStatusCode.ERROR,
                message: `${handled.outcome}: ${describe(handled.failure)}`,
              });
            }
            span.setAttribute('mercato.delivery.outcome', handled.outcome);
            return handled.outcome;
          } catch (error) {
            span.recordException(error as Error);
            span.setStatus({ code: SpanStatusCode.ERROR, message: describe(error) });
            throw error;
          } finally {
            span.end();
          }
        },
      ),
    );
    this.#observe(message.event_type, outcome, started);
  }

  /** Runs the handler; says what became of the delivery, and the handler's error if it failed. */
  async #handle(delivery: Delivery, message: Envelope): Promise<{ outcome: Outcome; failure?: Error }> {
    const { group, maxAttempts, backoff } = this.definition;
    let outcome: Outcome;
    try {
      outcome = await (this.#batcher ? this.#batcher.handle(message) : this.#handleOne(message));
    } catch (caught) {
      const failure = caught instanceof Error ? caught : new Error(String(caught));
      // A call to another process started inside a transaction is a bug: retrying repeats it.
      if (delivery.attempt >= maxAttempts || (isAppError(failure) && failure.code === CALL_IN_TRANSACTION)) {
        await this.#deadLetter(delivery, describe(failure));
        return { outcome: 'dead_lettered', failure };
      }
      const delay = retryDelay(delivery.attempt, backoff);
      // Another delivery calling about the same subject is expected (a redelivery, a refund racing a
      // charge), not a failure worth a warning.
      const busy = isAppError(failure) && failure.code === CALL_IN_PROGRESS;
      this.#settings.logger[busy ? 'info' : 'warn'](
        {
          error: failure,
          group,
          message_id: delivery.messageId,
          attempt: delivery.attempt,
          retry_in_ms: delay,
        },
        busy
          ? 'a call about the same subject is under way; will retry'
          : 'message handler failed; will retry',
      );
      await delivery.retryLater(delay);
      return { outcome: 'retried', failure };
    }
    // The effect and its inbox row are committed: a failed acknowledgement is the bus's problem, not
    // the handler's. It redelivers later and the inbox answers "duplicate"; no retry, no dead letter.
    try {
      await delivery.ack();
    } catch (error) {
      this.#settings.logger.warn(
        { error, group, message_id: delivery.messageId },
        'acknowledging a handled message failed; its redelivery will be skipped by the inbox',
      );
      return { outcome: 'unacknowledged' };
    }
    return { outcome };
  }

  /** One message on its own: in one transaction, or as claim, call, record. */
  #handleOne(message: Envelope): Promise<'processed' | 'duplicate'> {
    const { pool } = this.#settings;
    const { group, handler, callsOut } = this.definition;
    const ids = { correlationId: message.correlation_id, requestId: message.event_id };
    return runWithRequestContext(ids, () =>
      callsOut
        ? handleCallingOutOnce(pool, group, message, callsOut)
        : handleOnce(pool, group, message, handler as MessageHandler),
    );
  }

  async #deadLetter(delivery: Delivery, reason: string): Promise<void> {
    const { group } = this.definition;
    await this.#settings.deadLetters.add({
      group,
      messageId: delivery.messageId,
      destination: delivery.destination,
      key: delivery.key,
      envelope: delivery.envelope,
      error: reason,
      attempts: delivery.attempt,
    });
    await delivery.ack();
    this.#settings.logger.error(
      { group, message_id: delivery.messageId, attempts: delivery.attempt, reason },
      'message moved to the dead-letter store',
    );
  }

  #observe(type: string, outcome: Outcome, started: number): void {
    this.#duration.observe(
      { group: this.definition.group, type, outcome },
      (performance.now() - started) / 1000,
    );
  }
}

const describe = (error: unknown): string => (error instanceof Error ? error.message : String(error));
