import { fileURLToPath } from 'node:url';
import { createEnvelope, type MessageContract, sagaReply } from '@mercato/contracts';
import { Counter, Gauge, type Registry } from 'prom-client';
import { inTransaction, type Pool, type Transaction } from '../db/database.ts';
import type { Logger } from '../logging/create-logger.ts';
import type { ConsumerDefinition } from '../messaging/message-consumer.ts';
import type { Outbox, OutboxEntry } from '../messaging/outbox.ts';
import type { SagaDefinition } from './saga-definition.ts';
import {
  advanceSaga,
  isFinished,
  type Outgoing,
  type SagaInput,
  type SagaState,
  startSaga,
  type Transition,
} from './saga-state.ts';

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
   * to record what the saga did on the business object (e.g. confirm or cancel the order).
   */
  afterTransition?: (transaction: Transaction, change: SagaChange<Data>) => Promise<void>;
  now?: () => number;
}

export interface SagaChange<Data> {
  before: SagaState<Data> | undefined;
  after: SagaState<Data>;
  input: SagaInput | { type: 'start' };
  correlationId: string;
}

export interface SagaRecord<Data> {
  state: SagaState<Data>;
  type: string;
  createdAt: Date;
  updatedAt: Date;
  /** The step it waits on, by name. */
  waitingOn: string | null;
}

interface SagaRow<Data> {
  state: SagaState<Data>;
  saga_type: string;
  correlation_id: string;
  created_at: Date;
  updated_at: Date;
}

type InputOutcome = 'applied' | 'stale' | 'finished' | 'unknown';

/**
 * Runs a saga definition durably. Each change — a start, a reply, a timeout, an abort — is one
 * transaction that locks the saga's row, applies the pure transition (`advanceSaga`), stores the new
 * state with the deadline of the request it now waits on, and writes the commands to send to the
 * outbox. A reply is consumed in the same transaction (its inbox row), so a crash anywhere leaves
 * either all of it or none. Timers are rows: `fireDueTimeouts` (run on an interval by `startTimers`) finds
 * the sagas whose deadline passed, on any instance, after any restart.
 */
export class SagaRunner<Data> {
  readonly #options: SagaRunnerOptions<Data>;
  readonly #contracts: ReadonlyMap<string, MessageContract>;
  readonly #finished: Counter<'saga' | 'status'>;
  readonly #failed: Counter<'saga'>;
  readonly #timeouts: Counter<'saga' | 'step'>;
  readonly #ignored: Counter<'saga' | 'why'>;
  #timer: NodeJS.Timeout | undefined;
  #ticking: Promise<void> | undefined;

  constructor(options: SagaRunnerOptions<Data>) {
    this.#options = options;
    this.#contracts = new Map(options.commands.map((contract) => [contract.type, contract]));
    const registers = [options.registry];
    const saga = options.definition.name;
    this.#finished = counter(registers, 'saga_finished_total', 'Sagas that ended, by final status', [
      'saga',
      'status',
    ]);
    this.#failed = counter(
      registers,
      'saga_failed_total',
      'Sagas left FAILED: a compensation kept failing; a person must look at them',
      ['saga'],
    );
    this.#timeouts = counter(registers, 'saga_step_timeouts_total', 'Steps the saga stopped waiting for', [
      'saga',
      'step',
    ]);
    this.#ignored = counter(
      registers,
      'saga_replies_ignored_total',
      'Replies recorded but not applied (stale, duplicate, or after a timeout)',
      ['saga', 'why'],
    );
    this.#failed.inc({ saga }, 0);
    if (!options.registry.getSingleMetric('saga_open'))
      new Gauge({
        name: 'saga_open',
        help: 'Sagas not yet finished, by saga and status',
        labelNames: ['saga', 'status'],
        registers,
        async collect() {
          const { rows } = await options.pool.query<{ saga_type: string; status: string; count: number }>(
            `SELECT saga_type, status, count(*)::int AS count FROM saga_instances
              WHERE status IN ('running', 'compensating') GROUP BY saga_type, status`,
          );
          this.reset();
          for (const row of rows) this.set({ saga: row.saga_type, status: row.status }, row.count);
        },
      });
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
    const { rowCount } = await transaction.query(
      `WITH stored AS (
         INSERT INTO saga_instances (saga_id, saga_type, status, state, pending_request_id, deadline, correlation_id)
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (saga_id) DO NOTHING RETURNING saga_id)
       ${logFromStored('$3', '$8', '$9', '$10')}`,
      [
        sagaId,
        this.#options.definition.name,
        transition.state.status,
        JSON.stringify(transition.state),
        transition.state.pending?.requestId ?? null,
        deadlineOf(transition.state),
        correlationId,
        'start',
        null,
        JSON.stringify(logDetail(transition)),
      ],
    );
    if (rowCount === 0) {
      const { rows } = await transaction.query<{ state: SagaState<Data> }>(
        'SELECT state FROM saga_instances WHERE saga_id = $1',
        [sagaId],
      );
      return (rows[0] as { state: SagaState<Data> }).state;
    }
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
    return this.#advance(transaction, reply.sagaId, input);
  }

  /** Stops a saga going forward and compensates what it did; a finished saga is left as it is. */
  async abort(sagaId: string, reason: string): Promise<InputOutcome> {
    return inTransaction(this.#options.pool, (transaction) =>
      this.#advance(transaction, sagaId, { type: 'abort', reason }),
    );
  }

  async get(sagaId: string): Promise<SagaRecord<Data> | undefined> {
    const { rows } = await this.#options.pool.query<SagaRow<Data>>(
      'SELECT state, saga_type, correlation_id, created_at, updated_at FROM saga_instances WHERE saga_id = $1',
      [sagaId],
    );
    const row = rows[0];
    if (!row) return undefined;
    const pending = row.state.pending;
    return {
      state: row.state,
      type: row.saga_type,
      createdAt: row.created_at,
      updatedAt: row.updated_at,
      waitingOn: pending ? (this.#options.definition.steps[pending.step]?.name ?? null) : null,
    };
  }

  /** A saga's log, oldest first: what came in and what it led to. */
  async history(
    sagaId: string,
  ): Promise<
    { at: Date; input: string; requestId: string | null; outcome: string; status: string; detail: unknown }[]
  > {
    const { rows } = await this.#options.pool.query<{
      at: Date;
      input: string;
      request_id: string | null;
      outcome: string;
      status: string;
      detail: unknown;
    }>('SELECT at, input, request_id, outcome, status, detail FROM saga_log WHERE saga_id = $1 ORDER BY id', [
      sagaId,
    ]);
    return rows.map((row) => ({
      at: row.at,
      input: row.input,
      requestId: row.request_id,
      outcome: row.outcome,
      status: row.status,
      detail: row.detail,
    }));
  }

  /** Times out every saga whose deadline has passed; returns how many. Safe on several instances. */
  async fireDueTimeouts(limit = 100): Promise<number> {
    return inTransaction(this.#options.pool, async (transaction) => {
      const { rows } = await transaction.query<{ saga_id: string; pending_request_id: string }>(
        `SELECT saga_id, pending_request_id FROM saga_instances
          WHERE deadline <= $1 AND saga_type = $2
          ORDER BY deadline LIMIT $3 FOR UPDATE SKIP LOCKED`,
        [new Date(this.#now()), this.#options.definition.name, limit],
      );
      for (const row of rows)
        await this.#advance(transaction, row.saga_id, { type: 'timeout', requestId: row.pending_request_id });
      return rows.length;
    });
  }

  /** The consumer of the reply queue, when this is the only saga answered on it. */
  replyConsumer(group: string): ConsumerDefinition {
    return sagaReplyConsumer(group, this.#options.replyTo, () => this);
  }

  /** Fires due timeouts every `intervalMs` until `stop`. */
  startTimers(intervalMs: number): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      if (this.#ticking) return;
      this.#ticking = this.#fireAll()
        .catch((error: unknown) =>
          this.#options.logger.warn(
            { error, saga: this.#options.definition.name },
            'firing saga timeouts failed; will retry',
          ),
        )
        .finally(() => {
          this.#ticking = undefined;
        });
    }, intervalMs);
    this.#timer.unref();
  }

  async stopTimers(): Promise<void> {
    clearInterval(this.#timer);
    this.#timer = undefined;
    await this.#ticking;
  }

  async #fireAll(): Promise<void> {
    while ((await this.fireDueTimeouts()) === 100) {
      // More were due than one batch takes; keep going.
    }
  }

  async #advance(transaction: Transaction, sagaId: string, input: SagaInput): Promise<InputOutcome> {
    const { rows } = await transaction.query<SagaRow<Data>>(
      'SELECT state, saga_type, correlation_id, created_at, updated_at FROM saga_instances WHERE saga_id = $1 FOR UPDATE',
      [sagaId],
    );
    const row = rows[0];
    if (!row || row.saga_type !== this.#options.definition.name) {
      this.#options.logger.warn({ saga_id: sagaId, input: input.type }, 'input for an unknown saga ignored');
      return 'unknown';
    }
    const transition = advanceSaga(this.#options.definition, row.state, input, this.#now());
    if (transition.ignored) {
      this.#ignored.inc({ saga: this.#options.definition.name, why: transition.ignored });
      await this.#log(transaction, sagaId, input, `ignored: ${transition.ignored}`, row.state, {
        ...(input.type === 'reply' ? { success: input.success } : {}),
        ...(input.type === 'reply' && !input.success ? { reason: input.reason } : {}),
      });
      return transition.ignored;
    }
    if (input.type === 'timeout') {
      const step = this.#options.definition.steps[row.state.pending?.step ?? -1]?.name ?? 'unknown';
      this.#timeouts.inc({ saga: this.#options.definition.name, step });
    }
    await transaction.query(
      `WITH stored AS (
         UPDATE saga_instances SET status = $2, state = $3, pending_request_id = $4, deadline = $5, updated_at = now()
          WHERE saga_id = $1 RETURNING saga_id)
       ${logFromStored('$2', '$6', '$7', '$8')}`,
      [
        sagaId,
        transition.state.status,
        JSON.stringify(transition.state),
        transition.state.pending?.requestId ?? null,
        deadlineOf(transition.state),
        input.type,
        'requestId' in input ? input.requestId : null,
        JSON.stringify(logDetail(transition)),
      ],
    );
    await this.#record(transaction, row.state, transition, input, row.correlation_id);
    return 'applied';
  }

  /** Sends the transition's commands (its log row is written with its state) and lets the service record what it means. */
  async #record(
    transaction: Transaction,
    before: SagaState<Data> | undefined,
    transition: Transition<Data>,
    input: SagaInput | { type: 'start' },
    correlationId: string,
  ): Promise<void> {
    const { state } = transition;
    await this.#options.outbox.append(
      transaction,
      transition.send.map((outgoing) => this.#command(state.sagaId, outgoing, correlationId)),
    );
    await this.#options.afterTransition?.(transaction, { before, after: state, input, correlationId });
    if (before && isFinished(before.status)) return;
    if (isFinished(state.status)) {
      const saga = this.#options.definition.name;
      this.#finished.inc({ saga, status: state.status });
      if (state.status === 'failed') {
        this.#failed.inc({ saga });
        this.#options.logger.error(
          { saga, saga_id: state.sagaId, reason: state.reason, correlation_id: correlationId },
          'saga FAILED: a compensation kept failing; its effects need a person to undo them',
        );
      }
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

  async #log(
    transaction: Transaction,
    sagaId: string,
    input: SagaInput | { type: 'start' },
    outcome: string,
    state: SagaState<Data>,
    detail: Record<string, unknown>,
  ): Promise<void> {
    await transaction.query(
      `INSERT INTO saga_log (saga_id, input, request_id, outcome, status, detail) VALUES ($1, $2, $3, $4, $5, $6)`,
      [
        sagaId,
        input.type,
        'requestId' in input ? input.requestId : null,
        outcome,
        state.status,
        JSON.stringify(detail),
      ],
    );
  }

  #now(): number {
    return (this.#options.now ?? Date.now)();
  }
}

/**
 * The log row of an applied transition, written by the statement that stores the state (one round
 * trip); the arguments name the statement's parameters for status, input, request id and detail.
 */
const logFromStored = (status: string, input: string, requestId: string, detail: string) =>
  `INSERT INTO saga_log (saga_id, input, request_id, outcome, status, detail)
   SELECT saga_id, ${input}, ${requestId}, 'applied', ${status}, ${detail} FROM stored`;

const logDetail = <Data>(transition: Transition<Data>) => ({
  sent: transition.send.map((outgoing) => ({ request_id: outgoing.requestId, type: outgoing.command.type })),
  ...(transition.state.reason ? { reason: transition.state.reason } : {}),
});

const deadlineOf = (state: SagaState<unknown>): Date | null =>
  state.pending ? new Date(state.pending.deadline) : null;

/**
 * The consumer of a reply queue that several sagas share: each reply goes, in the transaction of its
 * inbox row, to the runner `route` names for its saga id.
 */
export function sagaReplyConsumer(
  group: string,
  replyTo: string,
  route: (sagaId: string) => Pick<SagaRunner<unknown>, 'handleReply'>,
): ConsumerDefinition {
  return {
    group,
    kind: 'queue',
    destinations: [replyTo],
    // A reply the orchestrator cannot apply now (its database is away) is retried for long.
    maxAttempts: 20,
    handler: async (message, transaction) => {
      const reply = sagaReply.schema.parse(message.data);
      await route(reply.saga_id).handleReply(transaction, {
        sagaId: reply.saga_id,
        requestId: reply.request_id,
        success: reply.success,
        ...(reply.reason === undefined ? {} : { reason: reply.reason }),
        result: reply.result,
      });
    },
  };
}

/** One counter per registry, whichever runner asks first (a service may run several sagas). */
function counter<Label extends string>(
  registers: Registry[],
  name: string,
  help: string,
  labelNames: Label[],
): Counter<Label> {
  const existing = registers[0]?.getSingleMetric(name);
  if (existing) return existing as Counter<Label>;
  return new Counter({ name, help, labelNames, registers });
}
