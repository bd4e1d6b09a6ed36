import { context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import pg from 'pg';

/**
 * A `pg` client whose queries are spans, made here because the chassis owns every pool: no
 * instrumentation patching `pg` through a hook on `require` (require-in-the-middle resolved every
 * module a second time at start), so `pg` is bundled with the rest of a service. A query makes a
 * span only inside a traced operation (a request, a delivery), as `instrumentation-pg` did with
 * `requireParentSpan`: a pool's housekeeping and the idle wake-ups make none.
 *
 * Named and described as OpenTelemetry's database conventions say: `pg.query:<OPERATION> <db>`,
 * `db.system.name`, `db.namespace`, `db.operation.name`, `db.query.text` (the parameterised text,
 * never the values), `server.address` and `server.port`.
 */
const tracer = trace.getTracer('@mercato/chassis/db');

/** Long statements are cut here: a span is for finding the query, not for storing it. */
const MAX_TEXT = 2_048;

const operationOf = (text: string): string => {
  const match = /^\s*([A-Za-z]+)/.exec(text);
  return match?.[1] ? match[1].toUpperCase() : 'QUERY';
};

const textOf = (first: unknown): string | undefined => {
  if (typeof first === 'string') return first;
  if (first && typeof first === 'object' && typeof (first as { text?: unknown }).text === 'string')
    return (first as { text: string }).text;
  return undefined;
};

const ended = (span: Span, error: unknown) => {
  if (error) {
    span.setStatus({ code: SpanStatusCode.ERROR, message: (error as Error).message });
    span.recordException(error as Error);
  }
  span.end();
};

type QueryCallback = (error: unknown, result: unknown) => void;

const untracedQuery = pg.Client.prototype.query as (this: pg.Client, ...args: unknown[]) => unknown;

function tracedQuery(this: pg.Client, ...args: unknown[]): unknown {
  const parent = trace.getSpan(context.active());
  const text = textOf(args[0]);
  // A submittable (a cursor, a stream) reports through its own events: passed on as it is.
  const submittable = typeof (args[0] as { submit?: unknown } | undefined)?.submit === 'function';
  if (!parent?.isRecording() || text === undefined || submittable) return untracedQuery.apply(this, args);
  const operation = operationOf(text);
  const span = tracer.startSpan(
    `pg.query:${operation} ${this.database ?? ''}`.trimEnd(),
    {
      kind: SpanKind.CLIENT,
      attributes: {
        'db.system.name': 'postgresql',
        'db.namespace': this.database ?? '',
        'db.operation.name': operation,
        'db.query.text': text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text,
        'server.address': this.host,
        'server.port': this.port,
      },
    },
    context.active(),
  );
  const last = args.length - 1;
  if (typeof args[last] === 'function') {
    const callback = args[last] as QueryCallback;
    // Called from the socket's callbacks, in whatever context opened the connection: back to the caller's.
    args[last] = context.bind(context.active(), (error: unknown, result: unknown) => {
      ended(span, error);
      callback(error, result);
    });
    return untracedQuery.apply(this, args);
  }
  let result: unknown;
  try {
    result = untracedQuery.apply(this, args);
  } catch (error) {
    ended(span, error);
    throw error;
  }
  if (result && typeof (result as Promise<unknown>).then === 'function')
    (result as Promise<unknown>).then(
      () => ended(span, undefined),
      (error: unknown) => ended(span, error),
    );
  else ended(span, undefined);
  return result;
}

/** The client a chassis pool makes its connections with. */
export class TracedClient extends pg.Client {}
Object.defineProperty(TracedClient.prototype, 'query', {
  value: tracedQuery,
  writable: true,
  configurable: true,
});

const untracedConnect = pg.Pool.prototype.connect as (this: pg.Pool, ...args: unknown[]) => unknown;

/**
 * A pool of `TracedClient`s. A query waiting for a free connection is handed one from the callback
 * of whichever query released it, in that query's async context: the callback is bound to the
 * caller's here, so its span joins the caller's trace, not the releaser's.
 */
export class TracedPool extends pg.Pool {
  constructor(config: pg.PoolConfig) {
    super({ ...config, Client: TracedClient });
  }
}
Object.defineProperty(TracedPool.prototype, 'connect', {
  value(this: pg.Pool, ...args: unknown[]): unknown {
    const callback = args[0];
    if (typeof callback === 'function')
      return untracedConnect.call(this, context.bind(context.active(), callback));
    return untracedConnect.apply(this, args);
  },
  writable: true,
  configurable: true,
});
