import { describe, expect, it } from 'vitest';
import { supervisorConfig } from '../config.ts';
import { builtCommand, mallocEnvironment } from './service-build.ts';

describe('the command a built service starts with', () => {
  it('leaves V8 and Node their defaults when nothing is set', () => {
    expect(builtCommand()).toEqual(['dist/launch.cjs']);
  });

  it('passes the semispace and the V8 pool size the supervisor is configured with', () => {
    const config = supervisorConfig.parse({});
    expect(
      builtCommand(
        { semiSpaceMb: config.MERCATO_SEMI_SPACE_MB, v8PoolSize: config.MERCATO_V8_POOL_SIZE },
        'versions/v2/launch.cjs',
      ),
    ).toEqual(['--max-semi-space-size=2', '--v8-pool-size=1', 'versions/v2/launch.cjs']);
    const defaults = supervisorConfig.parse({ MERCATO_SEMI_SPACE_MB: '0', MERCATO_V8_POOL_SIZE: '0' });
    expect(
      builtCommand({
        semiSpaceMb: defaults.MERCATO_SEMI_SPACE_MB,
        v8PoolSize: defaults.MERCATO_V8_POOL_SIZE,
      }),
    ).toEqual(['dist/launch.cjs']);
  });

  it('refuses a pool size that is not a small whole number, naming the variable', () => {
    for (const value of ['four', '-1', '1.5', '65']) {
      const parsed = supervisorConfig.safeParse({ MERCATO_V8_POOL_SIZE: value });
      expect(parsed.success, value).toBe(false);
      expect(parsed.error?.issues[0]?.path).toEqual(['MERCATO_V8_POOL_SIZE']);
    }
  });
});

describe("glibc's mmap threshold in a service's environment", () => {
  it('is fixed at 128 KiB by default', () => {
    const config = supervisorConfig.parse({});
    expect(mallocEnvironment(config.MERCATO_MALLOC_MMAP_THRESHOLD, {})).toEqual({
      MALLOC_MMAP_THRESHOLD_: '131072',
    });
  });

  it("is left to glibc with 0, and to the user's own MALLOC_MMAP_THRESHOLD_ when set", () => {
    expect(mallocEnvironment(0, {})).toEqual({});
    expect(mallocEnvironment(131_072, { MALLOC_MMAP_THRESHOLD_: '65536' })).toEqual({});
  });

  it('refuses a threshold that is not a whole number of bytes up to 32 MiB, naming the variable', () => {
    for (const value of ['128k', '-1', '0.5', String(64 * 1024 * 1024)]) {
      const parsed = supervisorConfig.safeParse({ MERCATO_MALLOC_MMAP_THRESHOLD: value });
      expect(parsed.success, value).toBe(false);
      expect(parsed.error?.issues[0]?.path).toEqual(['MERCATO_MALLOC_MMAP_THRESHOLD']);
    }
  });
});
