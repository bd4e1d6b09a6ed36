import pg from 'pg';
import type { Logger } from '../logging/create-logger.ts';
import { TracedPool } from './traced-client.ts';
import { runInTransactionScope } from './transaction-scope.ts';
import { TransactionSpan } from './transaction-span.ts';

export type Pool = pg.Pool;
export type PoolClient = pg.PoolClient;

export interface DatabaseSettings {
  url: string;
  max: number;
  applicationName: string;
  /** A connection beyond the first one is closed after this long unused (default 30 s). */
  idleTimeoutMs?: number;
}

// pg returns BIGINT (int8) as strings to stay exact; our counts and minor-unit amounts fit in a JS
// number well below 2^53, so parse them once here rather than in every repository.
pg.types.setTypeParser(pg.types.builtins.INT8, (value) => Number.parseInt(value, 10));

export function createPool(settings: DatabaseSettings, logger: Logger): Pool {
  const pool = new TracedPool({
    connectionString: settings.url,
    max: settings.max,
    application_name: settings.applicationName,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: settings.idleTimeoutMs ?? 30_000,
    // One connection stays open however long the pool is unused. Without it, an idle service's
    // safety-net reads (every 30 s or a minute) each found their connection closed by the idle
    // timeout and opened a new one: a TCP connection, a SCRAM exchange (4,096 PBKDF2 rounds on
    // each side) and a PostgreSQL backend forked and initialised, for one statement. That was most
    // of what the idle platform spent.
    min: 1,
  });
  // An idle client losing its connection must not crash the process; the pool replaces it.
  pool.on('error', (error) => logger.warn({ error }, 'idle database connection failed'));
  return pool;
}

declare const openTransaction: unique symbol;

/**
 * A client inside an open transaction, as `inTransaction` hands it out. What must commit together
 * with a state change (outbox entries, inbox rows, a handler's effects) takes this type, so a plain
 * pool or a client outside any transaction cannot be passed by mistake.
 */
export type Transaction = PoolClient & { readonly [openTransaction]: true };

/**
 * Runs `work` in one transaction: committed if it resolves, rolled back if it throws. `work` runs in
 * a marked async context: a call to another process started from it is refused
 * (`assertOutsideTransaction`).
 */
export async function inTransaction<T>(
  pool: Pool,
  work: (transaction: Transaction) => Promise<T>,
): Promise<T> {
  const span = new TransactionSpan();
  let client: PoolClient;
  try {
    client = await pool.connect();
  } catch (error) {
    span.end('rollback', error);
    throw error;
  }
  span.connected((client as PoolClient & { database?: string }).database);
  // A checked-out client has no error listener of the pool's: without this one, a server that goes
  // away mid-transaction would crash the process instead of failing the transaction. A connection
  // that failed, or cannot even roll back, is destroyed rather than pooled again.
  let broken: Error | undefined;
  const onError = (error: Error) => {
    broken = error;
  };
  client.on('error', onError);
  try {
    await span.edge(() => client.query('BEGIN'));
    const result = await span.within(() => runInTransactionScope(() => work(client as Transaction)));
    await span.edge(() => client.query('COMMIT'));
    span.end('commit');
    return result;
  } catch (error) {
    await span
      .edge(() => client.query('ROLLBACK'))
      .catch((rollbackError: Error) => {
        broken = rollbackError;
      });
    span.end('rollback', error);
    throw error;
  } finally {
    client.removeListener('error', onError);
    client.release(broken);
  }
}

/** Liveness of the database as readiness sees it: a round trip within a bound. */
export async function pingDatabase(pool: Pool, timeoutMs = 1_000): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`database did not answer within ${timeoutMs} ms`)), timeoutMs);
  });
  try {
    await Promise.race([pool.query('SELECT 1'), timeout]);
  } finally {
    clearTimeout(timer);
  }
}
