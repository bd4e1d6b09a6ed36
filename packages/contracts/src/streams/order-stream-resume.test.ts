import { describe, expect, it } from 'vitest';
import { parseOrderLogPosition, parseOrderStreamVersion } from './order-stream-resume.ts';

describe('order stream resume points', () => {
  it('reads a log position up to what xid8 and bigint hold, and nothing beyond', () => {
    expect(parseOrderLogPosition('0.0')).toEqual({ transactionId: '0', globalPosition: '0' });
    expect(parseOrderLogPosition('00771.0042')).toEqual({ transactionId: '771', globalPosition: '42' });
    expect(parseOrderLogPosition('18446744073709551615.9223372036854775807')).toBeDefined();
    for (const text of [
      '18446744073709551616.1',
      '99999999999999999999.1',
      '1.9223372036854775808',
      '1',
      '1.',
      '.1',
      '-1.1',
      '1.1.1',
      '1e3.1',
      ' 1.1',
      '',
    ])
      expect(parseOrderLogPosition(text), text).toBeUndefined();
  });

  it('reads an order version up to what an integer column holds', () => {
    expect(parseOrderStreamVersion('0')).toBe(0);
    expect(parseOrderStreamVersion('2147483647')).toBe(2_147_483_647);
    for (const text of ['2147483648', '99999999999', '-1', '1.5', '', 'x'])
      expect(parseOrderStreamVersion(text), text).toBeUndefined();
  });
});
