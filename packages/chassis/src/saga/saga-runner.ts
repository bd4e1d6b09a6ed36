import { fileURLToPath } from 'node:url';
import { createEnvelope, type MessageContract } from '@mercato/contracts';
import type { Registry } from 'prom-client';
import { inTransaction, type Pool, type Transaction } from '../db/database.ts';
import { type StatementPart, writeParts } from '../db/statement-part.ts';
import type { Logger } from '../logging/create-logger.ts';
import type { ConsumerDefinition } from '../messaging/message-consumer.ts';
import type { Outbox, OutboxEntry } from '../messaging/outbox.ts';
import type { SagaDefinition } from './saga-definition.ts';
import { SagaMetrics } from './saga-metrics.ts';
import { sagaReplyConsumer } from './saga-reply-consumer.ts';
import {
  advanceSaga,
  type Ignored,
  isFinished,
  type Outgoing,
  type SagaInput,
  type SagaState,
  startSaga,
  type Transition,
} from './saga-state.ts';
import { type SagaLogEntry, type SagaRow, SagaStore } from './saga-store.ts';

/** The saga tables in a service's own database (`migrate(db, sagaMigrations, …)`). */
export const sagaMigrations = fileURLToPath(new URL('./migrations', import.meta.url));
export const SAGA_MIGRATIONS_TABLE = 'mercato_saga_migrations';

export interface SagaRunnerOptions<Data> {
  definition: SagaDefinition<Data>;
  pool: Pool;
  outbox: Outbox;
  /** The commands the saga sends, so each goes out in its contract's envelope. */
  commands: readonly MessageContract[];
  /** The service that runs the saga (the envelopes' `source`). */
  source: string;
  /** The queue participants answer on; `replyConsumer()` consumes it. */
  replyTo: string;
  logger: Logger;
  registry: Registry;
  /**
   * Called in the transaction of every change of a saga, after its new state is stored: the place
   * to record what the saga did on the business object (e.g. confirm or cancel the order). The
   * runner then writes the change's commands to the outbox, unless this took them
   * (`change.takeCommands()`) to write them with its own messages in one outbox append.
   */
  afterTransition?: (transaction: Transaction, change: SagaChange<Data>) => Promise<void>;
  now?: () => number;
}

export interface SagaChange<Data> {
  before: SagaState<Data> | undefined;
  after: SagaState<Data>;
  input: SagaInput | { type: 'start' };
  correlationId: string;
  /**
   * Hands over the commands the change sends, as outbox entries, for the caller to write in this
   * transaction with its own messages (one round trip, not two); the runner then does not.
   */
  takeCommands: () => readonly OutboxEntry[];
  /**
   * Hands over the saga's own write (its new state and log row; none for a start, written already)
   * for the caller to carry in a statement of this transaction, such as its outbox append with the
   * commands (`Outbox.append`'s parts); the runner then does not write it. Taken, it must be written.
   */
  takeSagaWrite: () => readonly StatementPart[];
}

export interface SagaRecord<Data> {
  state: SagaState<Data>;
  type: string;
  createdAt: Date;
  updatedAt: Date;
  /** The step it waits on, by name. */
  waitingOn: string | null;
  /** How many timeouts in a row threw, and the last error (shown to operators; 0 and null normally). */
  timerFailures: number;
  timerError: string | null;
}

export type InputOutcome = 'applied' | Ignored | 'unknown' | 'busy';

/** The input to apply, decided from the saga's row once it is locked (undefined: nothing to do). */
type InputFor<Data> = (row: SagaRow<Data>) => SagaInput | undefined;

const TIMER_BATCH = 100;

/**
 * Runs a saga definition durably. Each change — a start, a reply, a timeout, an abort — is one
 * transaction that locks the saga's row, applies the pure transition (`advanceSaga`), stores the new
 * state with the deadline of the request it now waits on, and writes the commands to send to the
 * outbox. A reply is consumed in the same transaction (its inbox row), so a crash anywhere leaves
 * either all of it or none. Timers are rows: `fireDueTimeouts` (run by `startTimers` at the next
 * deadline) finds the sagas whose deadline passed, on any instance, after any restart, and fires
 * each in a transaction of its own, so one saga whose transition throws holds no other's timeout.
 */
/** Rounds after a local transition's deadline that look again for it (see `#followUps`). */
const LOCAL_FOLLOW_UPS = 3;

export class SagaRunner<Data> {
  readonly #options: SagaRunnerOptions<Data>;
  readonly #contracts: ReadonlyMap<string, MessageContract>;
  readonly #metrics: SagaMetrics;
  readonly #store: SagaStore;
  #timer: NodeJS.Timeout | undefined;
  /** When the timer fires (epoch ms on the runner's clock); Infinity when it is not set. */
  #timerAt = Number.POSITIVE_INFINITY;
  #timers: { intervalMs: number; idleMs: number } | undefined;
  #ticking: Promise<void> | undefined;
  /** A deadline came due while a round was running: run another after it. */
  #again = false;
  /**
   * Rounds left, a second apart at most, after a transition of this process set a deadline: its
   * transaction may commit after the round meant for it looked (slowly, on a loaded machine), and
   * the store's next deadline, read after that round, would not show it either.
   */
  #followUps = 0;

  constructor(options: SagaRunnerOptions<Data>) {
    this.#options = options;
    this.#contracts = new Map(options.commands.map((contract) => [contract.type, contract]));
    this.#metrics = new SagaMetrics(options.registry, options.pool, options.definition.name);
    this.#store = new SagaStore(options.pool);
  }

  get definition(): SagaDefinition<Data> {
    return this.#options.definition;
  }

  /**
   * Starts a saga in the caller's transaction (with whatever created it). Once per saga id: when
   * the saga exists already (a concurrent or repeated start), nothing is sent again and its state
   * is returned as it stands.
   */
  async begin(
    transaction: Transaction,
    sagaId: string,
    data: Data,
    correlationId: string,
  ): Promise<SagaState<Data>> {
    const transition = startSaga(this.#options.definition, sagaId, data, this.#now());
    const stored = await this.#store.insert(
      transaction,
      { type: this.#options.definition.name, correlationId },
      transition,
    );
    if (!stored) return (await this.#store.stateOf<Data>(transaction, sagaId)) as SagaState<Data>;
    await this.#record(transaction, undefined, transition, { type: 'start' }, correlationId);
    return transition.state;
  }

  /** Applies a reply in the caller's transaction (the reply consumer's, with its inbox row). */
  handleReply(
    transaction: Transaction,
    reply: {
      sagaId: string;
      requestId: string;
      success: boolean;
      reason?: string;
      result?: Record<string, unknown>;
    },
  ): Promise<InputOutcome> {
    const input: SagaInput = reply.success
      ? { type: 'reply', requestId: reply.requestId, success: true, reply: reply.result ?? {} }
      : { type: 'reply', requestId: reply.requestId, success: false, reason: reply.reason ?? 'failed' };
    return this.#advance(transaction, reply.sagaId, () => input);
  }

  /**
   * Locks a saga's row in the caller's transaction until it ends, and returns its state: whatever
   * the caller decides from it holds, as no reply, timeout or abort can change the saga meanwhile.
   */
  async lock(transaction: Transaction, sagaId: string): Promise<SagaState<Data> | undefined> {
    const row = await this.#store.lock<Data>(transaction, sagaId);
    return row?.saga_type === this.#options.definition.name ? row.state : undefined;
  }

  /**
   * Stops a saga going forward and compensates what it did, in the caller's transaction. A finished
   * saga is left as it is (`finished`), and so is one whose pivot may have happened (`past_pivot`).
   */
  abortIn(transaction: Transaction, sagaId: string, reason: string): Promise<InputOutcome> {
    return this.#advance(transaction, sagaId, () => ({ type: 'abort', reason }));
  }

  abort(sagaId: string, reason: string): Promise<InputOutcome> {
    return inTransaction(this.#options.pool, (transaction) => this.abortIn(transaction, sagaId, reason));
  }

  async get(sagaId: string): Promise<SagaRecord<Data> | undefined> {
    const row = await this.#store.get<Data>(sagaId);
    if (!row) return undefined;
    const pending = row.state.pending;
    return {
      state: row.state,
      type: row.saga_type,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      waitingOn: pending ? (this.#options.definition.steps[pending.step]?.name ?? null) : null,
      timerFailures: row.timer_failures,
      timerError: row.timer_error,
    };
  }

  /** A saga's log, oldest first: what came in and what it led to. */
  history(sagaId: string): Promise<SagaLogEntry[]> {
    return this.#store.history(sagaId);
  }

  /**
   * A stuck saga's next attempt, now rather than after its backoff (an operator fixed the cause).
   * False when the saga is not stuck.
   */
  async retryNow(sagaId: string): Promise<boolean> {
    const now = this.#now();
    const due = await this.#store.dueNowIfStuck(sagaId, this.#options.definition.name, new Date(now));
    if (due) this.#armAt(now);
    return due;
  }

  /**
   * Times out every saga whose deadline has passed, each in its own transaction; returns how many
   * it handled (a saga another transaction holds is left for the next round). Safe on several instances (a saga another holds is skipped). A transition that throws
   * is rolled back alone, counted on the saga (`timer_failures`, shown to operators) and its timer
   * pushed back with backoff; the other sagas fire as if nothing happened.
   */
  async fireDueTimeouts(limit = TIMER_BATCH): Promise<number> {
    const now = new Date(this.#now());
    let handled = 0;
    for (const sagaId of await this.#store.due(this.#options.definition.name, now, limit)) {
      try {
        const outcome = await inTransaction(this.#options.pool, (transaction) =>
          this.#advance(
            transaction,
            sagaId,
            (row) =>
              row.deadline && row.deadline <= now && row.pending_request_id
                ? { type: 'timeout', requestId: row.pending_request_id }
                : undefined,
            { skipLocked: true },
          ),
        );
        if (outcome !== 'busy') handled += 1;
      } catch (error) {
        await this.#timerFailed(sagaId, error);
        handled += 1;
      }
    }
    return handled;
  }

  /** The consumer of the reply queue, when this is the only saga answered on it. */
  replyConsumer(group: string): ConsumerDefinition {
    return sagaReplyConsumer(group, this.#options.replyTo, () => this);
  }

  /**
   * Fires due timeouts until `stopTimers`: a timer set to the earliest deadline of this saga type,
   * read from the store after each round and brought forward when a transition here sets an earlier
   * one. With nothing due no statement runs; `idleMs` is a safety net for deadlines set by another
   * instance (which fires its own, unless it died). A deadline already past but not fired (its saga
   * held by another transaction) or a failed round is looked at again `intervalMs` later.
   */
  startTimers(intervalMs: number, idleMs = 60_000): void {
    if (this.#timers) return;
    this.#timers = { intervalMs, idleMs };
    this.#armAt(this.#now());
  }

  async stopTimers(): Promise<void> {
    this.#timers = undefined;
    clearTimeout(this.#timer);
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    await this.#ticking;
  }

  /**
   * A transition here set `deadline`, in a transaction not committed yet: the round it fires must
   * not run before the commit (it would find nothing), so not sooner than `intervalMs` from now, and
   * while the store may still show nothing due, up to LOCAL_FOLLOW_UPS more rounds a second apart.
   */
  #armLocally(deadline: number): void {
    if (!this.#timers) return;
    this.#armAt(Math.max(deadline, this.#now() + this.#timers.intervalMs));
    this.#followUps = LOCAL_FOLLOW_UPS;
  }

  /** Sets the timer to `at` (the runner's clock) if it is not set for sooner already. */
  #armAt(at: number): void {
    if (!this.#timers || at >= this.#timerAt) return;
    clearTimeout(this.#timer);
    this.#timerAt = at;
    this.#timer = setTimeout(() => this.#tick(), Math.max(0, at - this.#now()));
    this.#timer.unref();
  }

  #tick(): void {
    this.#timer = undefined;
    this.#timerAt = Number.POSITIVE_INFINITY;
    if (this.#ticking) {
      this.#again = true;
      return;
    }
    const timers = this.#timers;
    if (!timers) return;
    this.#ticking = (async () => {
      do {
        this.#again = false;
        await this.#fireAll();
      } while (this.#again);
      const next = (await this.#store.nextDeadline(this.#options.definition.name))?.getTime();
      const now = this.#now();
      this.#armAt(
        next === undefined
          ? now + timers.idleMs
          : next <= now
            ? now + timers.intervalMs
            : Math.min(next, now + timers.idleMs),
      );
      // After a transition here: in case its transaction committed only after this round looked.
      if (this.#followUps > 0) {
        this.#followUps -= 1;
        this.#armAt(now + 1_000);
      }
    })()
      .catch((error: unknown) => {
        this.#options.logger.warn(
          { error, saga: this.#options.definition.name },
          'firing saga timeouts failed; will retry',
        );
        this.#armAt(this.#now() + timers.intervalMs);
      })
      .finally(() => {
        this.#ticking = undefined;
      });
  }

  async #fireAll(): Promise<void> {
    while ((await this.fireDueTimeouts()) === TIMER_BATCH) {
      // More were due than one batch takes; keep going.
    }
  }

  async #timerFailed(sagaId: string, error: unknown): Promise<void> {
    const saga = this.#options.definition.name;
    this.#metrics.timerFailures.inc({ saga });
    const message = error instanceof Error ? error.message : String(error);
    try {
      const failures = await this.#store.timerFailed(sagaId, message, new Date(this.#now()));
      this.#options.logger.warn(
        { error, saga, saga_id: sagaId, timer_failures: failures },
        'a saga timeout failed; its timer is pushed back, the other sagas go on',
      );
    } catch (recordError) {
      this.#options.logger.warn(
        { error, record_error: recordError, saga, saga_id: sagaId },
        'a saga timeout failed and could not be recorded; will retry',
      );
    }
  }

  async #advance(
    transaction: Transaction,
    sagaId: string,
    inputFor: InputFor<Data>,
    { skipLocked = false } = {},
  ): Promise<InputOutcome> {
    const row = await this.#store.lock<Data>(transaction, sagaId, { skipLocked });
    if (!row && skipLocked) return 'busy';
    if (!row || row.saga_type !== this.#options.definition.name) {
      this.#options.logger.warn({ saga_id: sagaId }, 'input for an unknown saga ignored');
      return 'unknown';
    }
    const input = inputFor(row);
    if (!input) return 'busy';
    const saga = this.#options.definition.name;
    const transition = advanceSaga(this.#options.definition, row.state, input, this.#now());
    if (transition.ignored) {
      this.#metrics.ignored.inc({ saga, why: transition.ignored });
      await this.#store.logIgnored(transaction, row.state, input, transition.ignored);
      return transition.ignored;
    }
    if (input.type === 'timeout' && !row.state.pending?.backoff) {
      const step = this.#options.definition.steps[row.state.pending?.step ?? -1]?.name ?? 'unknown';
      this.#metrics.timeouts.inc({ saga, step });
    }
    // Written with the commands' outbox append (or the service's, which takes both): one round trip.
    const write = this.#store.updatePart(transition, input);
    await this.#record(transaction, row.state, transition, input, row.correlation_id, write);
    return 'applied';
  }

  /**
   * Lets the service record what the transition means and sends its commands (with the service's
   * own messages when it writes them; its log row is written with its state).
   */
  async #record(
    transaction: Transaction,
    before: SagaState<Data> | undefined,
    transition: Transition<Data>,
    input: SagaInput | { type: 'start' },
    correlationId: string,
    write?: StatementPart,
  ): Promise<void> {
    const { state } = transition;
    // The step it now waits on times out at this deadline: the timer fires then, if not sooner.
    if (state.pending) this.#armLocally(state.pending.deadline);
    const commands = transition.send.map((outgoing) => this.#command(state.sagaId, outgoing, correlationId));
    let taken = false;
    const takeCommands = () => {
      taken = true;
      return commands;
    };
    let writes: readonly StatementPart[] = write ? [write] : [];
    const takeSagaWrite = () => {
      const taking = writes;
      writes = [];
      return taking;
    };
    await this.#options.afterTransition?.(transaction, {
      before,
      after: state,
      input,
      correlationId,
      takeCommands,
      takeSagaWrite,
    });
    if (!taken) await this.#options.outbox.append(transaction, commands, writes);
    else await writeParts(transaction, writes);
    this.#observe(before, transition, correlationId);
  }

  /** Metrics and log lines for what changed: resends, a saga stuck or moving again, a saga finished. */
  #observe(before: SagaState<Data> | undefined, transition: Transition<Data>, correlationId: string): void {
    const { state } = transition;
    const saga = this.#options.definition.name;
    const stepName = (index: number) => this.#options.definition.steps[index]?.name ?? String(index);
    for (const outgoing of transition.send)
      if (outgoing.kind === 'invoke' && outgoing.attempt > 1)
        this.#metrics.resends.inc({ saga, step: stepName(outgoing.step) });
    const log = { saga, saga_id: state.sagaId, correlation_id: correlationId };
    if (state.status === 'stuck' && before?.status !== 'stuck') {
      this.#metrics.becameStuck.inc({ saga, step: state.stuck?.step ?? 'unknown' });
      this.#options.logger.warn(
        { ...log, step: state.stuck?.step, why: state.stuck?.why },
        'saga stuck: retrying a step past its pivot beyond its timeout; it goes on when the step succeeds',
      );
    }
    if (before?.status === 'stuck' && state.status !== 'stuck')
      this.#options.logger.info({ ...log, status: state.status }, 'saga no longer stuck');
    if ((before && isFinished(before.status)) || !isFinished(state.status)) return;
    this.#metrics.finished.inc({ saga, status: state.status });
    if (state.status === 'failed') {
      this.#metrics.failed.inc({ saga });
      this.#options.logger.error(
        { ...log, reason: state.reason },
        'saga FAILED: a compensation kept failing; its effects need a person to undo them',
      );
    }
  }

  #command(sagaId: string, outgoing: Outgoing, correlationId: string): OutboxEntry {
    const contract = this.#contracts.get(outgoing.command.type);
    if (!contract)
      throw new Error(
        `saga ${this.#options.definition.name}: no contract for command ${outgoing.command.type}`,
      );
    return {
      kind: 'queue',
      destination: outgoing.command.destination,
      // Keyed by saga: a participant sees one saga's commands in the order they were sent.
      key: sagaId,
      envelope: createEnvelope({
        contract,
        source: this.#options.source,
        correlationId,
        data: {
          ...outgoing.command.payload,
          saga: {
            saga_id: sagaId,
            request_id: outgoing.requestId,
            idempotency_key: outgoing.idempotencyKey,
            reply_to: this.#options.replyTo,
          },
        },
      }),
    };
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }
}
