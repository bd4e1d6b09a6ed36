import { context, type Span, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import pg from 'pg';
import { isInvalidatedStatement, preparableWithoutParameters, StatementNames } from './statement-names.ts';

/**
 * A `pg` client whose queries are spans, made here because the chassis owns every pool: no
 * instrumentation patching `pg` through a hook on `require` (require-in-the-middle resolved every
 * module a second time at start), so `pg` is bundled with the rest of a service. A query makes a
 * span only inside a traced operation (a request, a delivery), as `instrumentation-pg` did with
 * `requireParentSpan`: a pool's housekeeping and the idle wake-ups make none.
 *
 * Named and described as OpenTelemetry's database conventions say: `pg.query:<OPERATION> <db>`,
 * `db.system.name`, `db.namespace`, `db.operation.name`, `db.query.text` (the parameterised text,
 * never the values), `server.address`, `server.port` and `network.transport` (`unix` through a socket).
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

const statementNames = new StatementNames();
let preparing = true;

/** Whether statements with parameters are prepared (named) from now on, in every pool of the process. */
export function prepareStatements(enabled: boolean): void {
  preparing = enabled;
}

/**
 * The arguments of a query with parameters (`text, values[, callback]`, or a config with `text` and
 * `values` and no `name`), or of a single read without any (`text[, callback]`: it is given an
 * empty parameter list, which the extended protocol needs to name it), as a named statement's; or
 * undefined when it is to run unnamed.
 */
function named(args: unknown[]): { text: string; args: unknown[] } | undefined {
  if (!preparing) return undefined;
  const [first, second] = args;
  // Both forms as a config and what follows it: `text, values, …` or `text[, callback]`, and
  // `config[, values][, callback]` with a plain object (not a submittable, not a Query).
  let config: { text?: unknown; values?: unknown; name?: unknown };
  let rest: unknown[];
  if (typeof first === 'string') {
    const withValues = Array.isArray(second);
    if (!withValues && second !== undefined && typeof second !== 'function') return undefined;
    config = withValues ? { text: first, values: second } : { text: first };
    rest = args.slice(withValues ? 2 : 1);
  } else if (first && typeof first === 'object' && Object.getPrototypeOf(first) === Object.prototype) {
    config = first;
    rest = args.slice(1);
  } else return undefined;
  const { text } = config;
  if (typeof text !== 'string' || config.name !== undefined) return undefined;
  const withValues = Array.isArray(config.values) || Array.isArray(rest[0]);
  if (!withValues && (config.values !== undefined || !preparableWithoutParameters(text))) return undefined;
  const name = statementNames.nameOf(text);
  if (!name) return undefined;
  return { text, args: [withValues ? { ...config, name } : { ...config, name, values: [] }, ...rest] };
}

/**
 * Runs a query as a named statement where `StatementNames` says so. When PostgreSQL refuses the
 * prepared statement (`isInvalidatedStatement`: a migration changed its result type, or the session
 * lost it), its text runs unnamed from then on; a statement outside a transaction is asked again
 * at once, unnamed (it changed nothing), while one inside fails its transaction as any error does.
 */
function query(client: pg.Client, args: unknown[]): unknown {
  const naming = named(args);
  if (!naming) return untracedQuery.apply(client, args);
  const askAgain = client.getTransactionStatus() === 'I';
  const last = naming.args.length - 1;
  const callback = naming.args[last];
  if (typeof callback === 'function') {
    naming.args[last] = (error: unknown, result: unknown) => {
      if (isInvalidatedStatement(error)) {
        statementNames.forget(naming.text);
        if (askAgain) return untracedQuery.apply(client, args);
      }
      return (callback as QueryCallback)(error, result);
    };
    return untracedQuery.apply(client, naming.args);
  }
  return (untracedQuery.apply(client, naming.args) as Promise<unknown>).catch((error: unknown) => {
    if (!isInvalidatedStatement(error)) throw error;
    statementNames.forget(naming.text);
    if (!askAgain) throw error;
    return untracedQuery.apply(client, args);
  });
}

function tracedQuery(this: pg.Client, ...args: unknown[]): unknown {
  const parent = trace.getSpan(context.active());
  const text = textOf(args[0]);
  // A submittable (a cursor, a stream) reports through its own events: passed on as it is.
  const submittable = typeof (args[0] as { submit?: unknown } | undefined)?.submit === 'function';
  if (submittable) return untracedQuery.apply(this, args);
  if (!parent?.isRecording() || text === undefined) return query(this, args);
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
        // A host that is a folder is the server's Unix-domain socket (the embedded server's).
        'network.transport': this.host.startsWith('/') ? 'unix' : 'tcp',
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
    return query(this, args);
  }
  let result: unknown;
  try {
    result = query(this, args);
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
