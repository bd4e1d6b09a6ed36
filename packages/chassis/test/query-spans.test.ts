import { context, propagation, SpanStatusCode, trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { NodeTracerProvider } from '@opentelemetry/sdk-trace-node';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { createPool, inTransaction, type Pool } from '../src/db/database.ts';
import { createLogger } from '../src/logging/create-logger.ts';
import { createTestDatabase, probePostgres, suiteTitle } from '../src/testing/infra.ts';

const postgres = await probePostgres();
const logger = createLogger({ service: 'query-span-test', level: 'silent' });

describe.skipIf(!postgres.available)(suiteTitle('query spans made by the chassis pool', postgres), () => {
  const exporter = new InMemorySpanExporter();
  const provider = new NodeTracerProvider({ spanProcessors: [new SimpleSpanProcessor(exporter)] });
  const tracer = trace.getTracer('query-span-test');
  let pool: Pool;
  let drop: () => Promise<void>;

  beforeAll(async () => {
    provider.register();
    const database = await createTestDatabase('query_spans');
    drop = database.drop;
    pool = createPool({ url: database.url, max: 1, applicationName: 'query-spans' }, logger);
  });
  afterAll(async () => {
    await pool?.end();
    await drop?.();
    await provider.shutdown();
    trace.disable();
    context.disable();
    propagation.disable();
  });
  beforeEach(() => exporter.reset());

  const traced = <T>(name: string, work: () => Promise<T>) =>
    tracer.startActiveSpan(name, async (span) => {
      try {
        return await work();
      } finally {
        span.end();
      }
    });
  const queries = () => exporter.getFinishedSpans().filter((span) => span.name.startsWith('pg.query:'));

  it('makes a client span per query inside a traced operation, with the parameterised text only', async () => {
    await traced('request', () => pool.query('SELECT $1::text AS secret', ['s3cr3t-value']));
    const [span] = queries();
    expect(span?.name).toMatch(/^pg\.query:SELECT \S+$/);
    expect(span?.attributes).toMatchObject({
      'db.system.name': 'postgresql',
      'db.operation.name': 'SELECT',
      'db.query.text': 'SELECT $1::text AS secret',
      // The test server is reached over TCP (a socket's folder would be `unix`).
      'network.transport': 'tcp',
    });
    expect(JSON.stringify(span?.attributes)).not.toContain('s3cr3t-value');
    const parent = exporter.getFinishedSpans().find((candidate) => candidate.name === 'request');
    expect(span?.parentSpanContext?.spanId).toBe(parent?.spanContext().spanId);
  });

  it('makes none outside a traced operation (housekeeping, idle wake-ups)', async () => {
    await pool.query('SELECT 1');
    expect(queries()).toEqual([]);
  });

  it("marks a failed query as an error and still answers the caller's error", async () => {
    await expect(traced('bad', () => pool.query('SELECT * FROM no_such_table'))).rejects.toThrow(
      /no_such_table/,
    );
    const [span] = queries();
    expect(span?.status.code).toBe(SpanStatusCode.ERROR);
  });

  it('traces a transaction as one span under its caller, its statements under it, and no span for BEGIN or COMMIT', async () => {
    await traced('work', () =>
      inTransaction(pool, async (transaction) => {
        await transaction.query('SELECT 2');
        await transaction.query('SELECT 3');
      }),
    );
    const spans = exporter.getFinishedSpans();
    const work = spans.find((span) => span.name === 'work');
    const transactions = spans.filter((span) => span.name.startsWith('pg.transaction'));
    expect(transactions).toHaveLength(1);
    const [transaction] = transactions;
    expect(transaction?.name).toMatch(/^pg\.transaction \S+$/);
    expect(transaction?.parentSpanContext?.spanId).toBe(work?.spanContext().spanId);
    expect(transaction?.attributes).toMatchObject({
      'db.system.name': 'postgresql',
      'db.operation.name': 'TRANSACTION',
      'db.transaction.outcome': 'commit',
    });
    expect(queries().map((span) => span.attributes['db.query.text'])).toEqual(['SELECT 2', 'SELECT 3']);
    for (const query of queries())
      expect(query.parentSpanContext?.spanId).toBe(transaction?.spanContext().spanId);
  });

  it('marks a transaction that rolled back, with the error that ended it', async () => {
    await expect(
      traced('failing', () =>
        inTransaction(pool, async (transaction) => {
          await transaction.query('SELECT 4');
          throw new Error('the handler gave up');
        }),
      ),
    ).rejects.toThrow('the handler gave up');
    const transaction = exporter.getFinishedSpans().find((span) => span.name.startsWith('pg.transaction'));
    expect(transaction?.attributes['db.transaction.outcome']).toBe('rollback');
    expect(transaction?.status).toMatchObject({ code: SpanStatusCode.ERROR, message: 'the handler gave up' });
    expect(queries().map((span) => span.attributes['db.operation.name'])).toEqual(['SELECT']);
  });

  it('makes no transaction span outside a traced operation', async () => {
    await inTransaction(pool, (transaction) => transaction.query('SELECT 5'));
    expect(exporter.getFinishedSpans()).toEqual([]);
  });

  it("puts a query that waited for the pool's only connection in its own caller's trace", async () => {
    // max 1: the second caller's query waits, and is handed the connection from the first's callback.
    await Promise.all([
      traced('first', () => pool.query('SELECT pg_sleep(0.05)')),
      traced('second', () => pool.query('SELECT 3')),
    ]);
    const spans = exporter.getFinishedSpans();
    const second = spans.find((span) => span.name === 'second');
    const third = queries().find((span) => span.attributes['db.query.text'] === 'SELECT 3');
    expect(third?.parentSpanContext?.spanId).toBe(second?.spanContext().spanId);
    expect(third?.spanContext().traceId).toBe(second?.spanContext().traceId);
  });
});
