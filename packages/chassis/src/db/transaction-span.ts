import { type Context, context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';

const tracer = trace.getTracer('@mercato/chassis/db');

/**
 * A transaction inside a traced operation is one span, `pg.transaction <db>`, from asking the pool
 * for a connection to the commit or rollback, with its statements' spans under it: a trace shows
 * which statements committed together, how long the transaction waited for a connection, and how it
 * ended (`db.transaction.outcome`). Its edges (BEGIN, COMMIT, ROLLBACK) make no spans of their own:
 * the transaction's span starts and ends with them. One span a transaction instead of two, some 45
 * an order.
 */
export class TransactionSpan {
  readonly #span: Span | undefined;
  readonly #scope: Context;

  constructor() {
    const parent = trace.getSpan(context.active());
    this.#span = parent?.isRecording()
      ? tracer.startSpan('pg.transaction', {
          kind: SpanKind.CLIENT,
          attributes: { 'db.system.name': 'postgresql', 'db.operation.name': 'TRANSACTION' },
        })
      : undefined;
    this.#scope = this.#span ? trace.setSpan(context.active(), this.#span) : context.active();
  }

  /** The connection it runs on is known: the span names its database. */
  connected(database: string | undefined): void {
    if (!this.#span || !database) return;
    this.#span.updateName(`pg.transaction ${database}`);
    this.#span.setAttribute('db.namespace', database);
  }

  /** Runs the transaction's work with its statements under the span. */
  within<T>(work: () => Promise<T>): Promise<T> {
    return this.#span ? context.with(this.#scope, work) : work();
  }

  /** Runs BEGIN, COMMIT or ROLLBACK with no span of its own. */
  edge<T>(statement: () => Promise<T>): Promise<T> {
    return this.#span ? context.with(trace.deleteSpan(context.active()), statement) : statement();
  }

  end(outcome: 'commit' | 'rollback', error?: unknown): void {
    if (!this.#span) return;
    this.#span.setAttribute('db.transaction.outcome', outcome);
    if (error) {
      this.#span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
      this.#span.recordException(error as Error);
    }
    this.#span.end();
  }
}
