import { create } from '@bufbuild/protobuf';
import type { Logger } from '@mercato/chassis';
import {
  type WatchBlockedUsersResponse,
  WatchBlockedUsersResponseSchema,
} from '@mercato/contracts/grpc/identity';
import { describe, expect, it } from 'vitest';
import { BlockedUsers, followBlockedUsers } from './blocked-users.ts';

/** A logger that only remembers the level of each line. */
const recordingLogger = () => {
  const levels: string[] = [];
  const at = (level: string) => () => levels.push(level);
  const logger = { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
  return { levels, logger: logger as unknown as Logger };
};

const unavailable = () =>
  Object.assign(new Error('no instance of identity is available'), { code: 'UNAVAILABLE' });

describe('followBlockedUsers', () => {
  it('does not warn while identity is not there yet at start, and warns when a stream it had is lost', async () => {
    const { levels, logger } = recordingLogger();
    const stop = new AbortController();
    let calls = 0;
    const blocked = new BlockedUsers();
    followBlockedUsers({
      blocked,
      logger,
      signal: stop.signal,
      // Two refusals (identity not registered yet), then a stream that delivers a block and breaks.
      watch: () =>
        (async function* (): AsyncGenerator<WatchBlockedUsersResponse> {
          calls += 1;
          if (calls <= 2) throw unavailable();
          yield create(WatchBlockedUsersResponseSchema, {
            users: [{ userId: 'u1', blockedAt: new Date().toISOString() }],
          });
          throw unavailable();
        })(),
    });
    const until = Date.now() + 5_000;
    while (!levels.includes('warn') && Date.now() < until)
      await new Promise((resolve) => setTimeout(resolve, 20));
    stop.abort();
    expect(levels.slice(0, 2)).toEqual(['debug', 'debug']);
    expect(levels[2]).toBe('warn');
    expect(blocked.revokes({ userId: 'u1', roles: [], issuedAt: 0, expiresAt: Date.now() + 60_000 })).toBe(
      true,
    );
  });
});
