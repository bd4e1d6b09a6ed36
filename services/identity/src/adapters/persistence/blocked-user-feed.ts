import { type BoundedQueue, type Logger, listenToChannel, type PgChannelListener } from '@mercato/chassis';
import type { BlockedUser } from '../../application/accounts.port.ts';
import { USER_BLOCKED_CHANNEL } from './postgres-accounts.ts';

/**
 * Blocks as they are committed, by any identity process: LISTENs on the channel the block's
 * transaction notifies, and hands each block to every watcher (the edges' WatchBlockedUsers
 * streams). After a lost connection it hands out the recent blocks again, so none is missed.
 */
export class BlockedUserFeed {
  readonly #watchers = new Set<BoundedQueue<BlockedUser>>();
  readonly #listener: PgChannelListener;

  constructor(options: {
    databaseUrl: string;
    logger: Logger;
    blockedUser: (userId: string) => Promise<BlockedUser | undefined>;
    recentlyBlocked: () => Promise<BlockedUser[]>;
  }) {
    const handOut = async (load: () => Promise<BlockedUser[]>) => {
      if (this.#watchers.size === 0) return;
      try {
        for (const user of await load()) for (const watcher of this.#watchers) watcher.push(user);
      } catch (error) {
        options.logger.warn({ err: error }, 'reading a block failed; its watchers are told to reconnect');
        for (const watcher of this.#watchers) watcher.end(error as Error);
      }
    };
    this.#listener = listenToChannel({
      url: options.databaseUrl,
      channel: USER_BLOCKED_CHANNEL,
      logger: options.logger,
      onNotify: (userId) =>
        void handOut(async () => {
          const user = await options.blockedUser(userId);
          return user ? [user] : [];
        }),
      onReconnect: () => void handOut(options.recentlyBlocked),
    });
  }

  /** Pushes every later block to `queue`; returns how to stop. */
  watch(queue: BoundedQueue<BlockedUser>): () => void {
    this.#watchers.add(queue);
    return () => this.#watchers.delete(queue);
  }

  async close(): Promise<void> {
    for (const watcher of this.#watchers) watcher.end();
    this.#watchers.clear();
    await this.#listener.close();
  }
}
