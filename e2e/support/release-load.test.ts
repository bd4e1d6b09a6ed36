import { describe, expect, it } from 'vitest';
import { DEFAULT_RELEASE_LOAD, releaseLoad } from './release-load.ts';

describe('releaseLoad', () => {
  it('is 50 reads and 2 orders a second unless MERCATO_E2E_RELEASE_LOAD says otherwise', () => {
    expect(releaseLoad(undefined)).toEqual(DEFAULT_RELEASE_LOAD);
    expect(releaseLoad('')).toEqual({ readsPerSecond: 50, ordersPerSecond: 2 });
    expect(releaseLoad('100/5')).toEqual({ readsPerSecond: 100, ordersPerSecond: 5 });
    expect(releaseLoad(' 200/10 ')).toEqual({ readsPerSecond: 200, ordersPerSecond: 10 });
  });

  it('refuses anything else in one line that names the setting', () => {
    for (const bad of ['100', '100/0', '0/5', 'a/b', '100/5/1', '-1/5', '1e3/5'])
      expect(() => releaseLoad(bad)).toThrow(/^MERCATO_E2E_RELEASE_LOAD must be <reads>\/<orders>/);
  });
});
