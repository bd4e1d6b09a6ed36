import { describe, expect, it } from 'vitest';
import { runtimeAdvice } from './runtime-advice.ts';

describe('runtimeAdvice', () => {
  it('points a platform on Node 20 to 22 or 24', () => {
    expect(runtimeAdvice('v20.20.0')).toMatch(
      /^running on Node 20\.20\.0, past its end of life: on Node 22 or 24/,
    );
  });

  it('says nothing on Node 22 and later', () => {
    expect(runtimeAdvice('v22.23.3')).toBeUndefined();
    expect(runtimeAdvice('v24.21.0')).toBeUndefined();
    expect(runtimeAdvice('v26.0.0')).toBeUndefined();
  });

  it('says nothing about a version it cannot read', () => {
    expect(runtimeAdvice('')).toBeUndefined();
    expect(runtimeAdvice('nightly')).toBeUndefined();
  });
});
