import { describe, expect, it } from 'vitest';
import { supervisorConfig } from '../config.ts';
import { builtCommand } from './service-build.ts';

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
