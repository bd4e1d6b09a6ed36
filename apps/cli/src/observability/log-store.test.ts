import { describe, expect, it } from 'vitest';
import { LogStore } from './log-store.ts';

const line = (fields: Record<string, unknown>) =>
  JSON.stringify({
    timestamp: '2026-01-15T10:30:00.000Z',
    level: 'info',
    service: 'order',
    message: 'm',
    ...fields,
  });

describe('LogStore', () => {
  it('finds lines by service, level and above, text, correlation id, trace id and time, newest first', () => {
    const logs = new LogStore({ maxBytes: 1_000_000 });
    logs.add('order', line({ message: 'saga started', correlation_id: 'corr_1', trace_id: 'a'.repeat(32) }));
    logs.add('payment', line({ service: 'payment', level: 'warn', message: 'provider slow' }));
    logs.add(
      'payment',
      line({
        service: 'payment',
        level: 'error',
        message: 'Provider DOWN',
        timestamp: '2026-01-15T10:31:00.000Z',
      }),
    );
    logs.add('catalog', 'a plain text line');
    const messages = (query: Partial<Parameters<LogStore['query']>[0]>) =>
      logs.query({ limit: 10, ...query }).map((entry) => entry.message);
    expect(messages({ service: 'payment' })).toEqual(['Provider DOWN', 'provider slow']);
    expect(messages({ level: 'warn' })).toEqual(['Provider DOWN', 'provider slow']);
    expect(messages({ text: 'provider down' })).toEqual(['Provider DOWN']);
    expect(messages({ correlationId: 'corr_1' })).toEqual(['saga started']);
    expect(messages({ traceId: 'a'.repeat(32) })).toEqual(['saga started']);
    expect(messages({ sinceMs: Date.parse('2026-01-15T10:30:30Z'), service: 'payment' })).toEqual([
      'Provider DOWN',
    ]);
    expect(messages({ service: 'catalog' })).toEqual(['a plain text line']);
  });

  it('drops the oldest lines past its bound', () => {
    const logs = new LogStore({ maxBytes: 20_000 });
    for (let n = 0; n < 200; n++) logs.add('order', line({ message: `line ${n}` }));
    expect(logs.stats().bytes).toBeLessThanOrEqual(20_000);
    const kept = logs.query({ limit: 1_000 });
    expect(kept[0]?.message).toBe('line 199');
    expect(kept.length).toBeLessThan(200);
  });
});
