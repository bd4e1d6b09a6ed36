import { describe, expect, it } from 'vitest';
import { timeoutFromHeaders } from './grpc-timeout.ts';

describe('timeoutFromHeaders', () => {
  it.each([
    ['250m', 250],
    ['3S', 3_000],
    ['2M', 120_000],
    ['1H', 3_600_000],
    ['1500000u', 1_500],
    ['2000000n', 2],
  ])('reads grpc-timeout %s as %d ms', (value, expected) => {
    expect(timeoutFromHeaders(new Headers({ 'grpc-timeout': value }))).toBe(expected);
  });

  it('reads connect-timeout-ms', () => {
    expect(timeoutFromHeaders(new Headers({ 'connect-timeout-ms': '900' }))).toBe(900);
  });

  it.each(['', '10', '123456789m', '-5m', '5x'])('ignores a malformed grpc-timeout %j', (value) => {
    expect(timeoutFromHeaders(new Headers({ 'grpc-timeout': value }))).toBeUndefined();
  });
});
