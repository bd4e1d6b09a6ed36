import type { Logger, Principal } from '@mercato/chassis';
import type { WatchBlockedUsersResponse } from '@mercato/contracts/grpc/identity';

/** Longer than any access token lives (identity's TTL is at most a day): older blocks are moot. */
const KEEP_MS = 25 * 3_600_000;
const RECONNECT_MS = { first: 250, max: 10_000 };
/** How long after the gateway starts identity may be missing before a failed watch is a warning. */
const STARTING_MS = 30_000;

/**
 * The users identity has blocked lately, as the gateway learns of them (identity's
 * WatchBlockedUsers): a token issued at or before its user's block is refused everywhere, and the
 * user's live streams are ended. A token issued after it (the user unblocked and signed in again)
 * is honoured, so unblocking needs no message of its own.
 */
export class BlockedUsers {
  readonly #blockedAt = new Map<string, number>();
  readonly #listeners = new Set<(userId: string) => void>();

  record(userId: string, blockedAt: number, now = Date.now()): void {
    for (const [id, at] of this.#blockedAt) if (now - at > KEEP_MS) this.#blockedAt.delete(id);
    if ((this.#blockedAt.get(userId) ?? Number.NEGATIVE_INFINITY) >= blockedAt) return;
    this.#blockedAt.set(userId, blockedAt);
    for (const listener of this.#listeners) listener(userId);
  }

  /** Whether the principal's token was issued before its user was blocked. */
  revokes(principal: Principal): boolean {
    const blockedAt = this.#blockedAt.get(principal.userId);
    return blockedAt !== undefined && principal.issuedAt <= blockedAt;
  }

  /** Calls `listener` with each newly blocked user; returns how to stop. */
  onBlocked(listener: (userId: string) => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }
}

/**
 * Keeps a WatchBlockedUsers stream open to identity for as long as the gateway runs, opening it
 * again (backing off) when identity restarts or cannot be reached. While it is down, tokens are
 * still checked for signature and expiry: a block then takes effect when the stream is back (it
 * starts with every recent block) or when the token expires, whichever is first.
 */
export function followBlockedUsers(options: {
  blocked: BlockedUsers;
  watch: (signal: AbortSignal) => AsyncIterable<WatchBlockedUsersResponse>;
  logger: Logger;
  signal: AbortSignal;
}): void {
  const { blocked, logger, signal } = options;
  const began = Date.now();
  let connected = false;
  void (async () => {
    let delay = RECONNECT_MS.first;
    while (!signal.aborted) {
      try {
        for await (const { users } of options.watch(signal)) {
          connected = true;
          delay = RECONNECT_MS.first;
          for (const user of users) {
            const at = Date.parse(user.blockedAt);
            if (Number.isFinite(at)) blocked.record(user.userId, at);
          }
        }
      } catch (error) {
        if (signal.aborted) return;
        // While the platform starts, identity is often not there yet: that is not worth a warning
        // (with a stack) every few hundred ms. Losing the stream, or never getting it, is.
        const starting = !connected && Date.now() - began < STARTING_MS;
        const log = starting ? logger.debug.bind(logger) : logger.warn.bind(logger);
        log({ err: error }, 'watching identity for blocked users failed; trying again');
      }
      await new Promise((resolve) => setTimeout(resolve, delay).unref());
      delay = Math.min(delay * 2, RECONNECT_MS.max);
    }
  })();
}
