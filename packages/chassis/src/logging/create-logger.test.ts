import { describe, expect, it } from 'vitest';
import { createLogger } from './create-logger.ts';
import { runWithRequestContext } from './request-context.ts';

const capture = () => {
  const lines: Record<string, unknown>[] = [];
  const destination = { write: (line: string) => void lines.push(JSON.parse(line)) };
  return { lines, logger: createLogger({ service: 'catalog', level: 'info', destination }) };
};

describe('createLogger', () => {
  it('writes the platform fields on every line', () => {
    const { lines, logger } = capture();
    logger.info({ sku: 'APP-0001' }, 'product created');
    expect(lines).toHaveLength(1);
    const [line] = lines;
    expect(Object.keys(line ?? {})).toEqual(
      expect.arrayContaining([
        'timestamp',
        'level',
        'service',
        'trace_id',
        'span_id',
        'correlation_id',
        'message',
      ]),
    );
    expect(line).toMatchObject({
      level: 'info',
      service: 'catalog',
      message: 'product created',
      sku: 'APP-0001',
    });
    expect(new Date(String(line?.timestamp)).toISOString()).toBe(line?.timestamp);
  });

  it('takes the correlation id from the request context', () => {
    const { lines, logger } = capture();
    runWithRequestContext({ correlationId: 'corr_abc', requestId: 'req_1' }, () => logger.warn('inside'));
    logger.warn('outside');
    expect(lines.map((line) => line.correlation_id)).toEqual(['corr_abc', null]);
  });

  it('serialises errors under `error` with their stack', () => {
    const { lines, logger } = capture();
    logger.error({ error: new Error('boom') }, 'failed');
    expect(lines[0]?.error).toMatchObject({ message: 'boom', type: 'Error' });
  });
});
