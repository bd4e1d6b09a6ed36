import { AppError, currentRequestContext, type Principal } from '@mercato/chassis';
import type { FastifyRequest } from 'fastify';
import { Gauge, type Registry } from 'prom-client';
import type { BlockedUsers } from '../auth/blocked-users.ts';

/** Why the gateway ended a stream (the client did not leave): sent to it as an SSE `end` event. */
export type EndReason = 'token_expired' | 'user_blocked';

export interface StreamLimits {
  /** Streams one signed-in user may hold open at once. */
  perUser: number;
  /** Streams one address may hold open at once without a token (public stock levels). */
  perAddress: number;
}

/** One live stream at the edge, from the moment it was admitted until `close`. */
export interface LiveStream {
  /** Aborts when the client leaves or the gateway ends the stream (then `ended` says why). */
  readonly signal: AbortSignal;
  readonly ended: EndReason | undefined;
  /** Gives its place back; call once the response has ended. */
  close(): void;
}

/** How long a client turned away for too many streams is told to wait before asking again. */
const RETRY_AFTER_SECONDS = 5;

const tooMany = (limit: number) =>
  new AppError({
    code: 'GATEWAY.TOO_MANY_STREAMS',
    kind: 'rate_limited',
    message: `At most ${limit} live streams may be open at once; close one first`,
    retryable: true,
    retryAfterSeconds: RETRY_AFTER_SECONDS,
  });

const tokenExpired = () =>
  new AppError({
    code: 'AUTH.TOKEN_EXPIRED',
    kind: 'unauthenticated',
    message: 'The access token has expired; refresh it and resume with Last-Event-ID',
  });

/**
 * The gateway's live streams (SSE): admitted up to a limit per user (or per address, without a
 * token), each ended with a reason when the token that opened it expires or its user is blocked.
 * A stream outliving its token would keep delivering a customer's events to whoever held it.
 */
export class LiveStreams {
  readonly #limits: StreamLimits;
  readonly #open = new Map<string, number>();
  readonly #byUser = new Map<string, Set<(reason: EndReason) => void>>();
  readonly #gauge: Gauge;

  constructor(limits: StreamLimits, blocked: BlockedUsers, registry: Registry) {
    this.#limits = limits;
    this.#gauge = new Gauge({
      name: 'gateway_live_streams',
      help: 'Live streams (SSE) open at the edge',
      registers: [registry],
    });
    blocked.onBlocked((userId) => {
      for (const end of [...(this.#byUser.get(userId) ?? [])]) end('user_blocked');
    });
  }

  /** Admits a stream for the caller (429 beyond its limit, 401 for a token that has expired). */
  open(request: FastifyRequest, principal: Principal | undefined): LiveStream {
    const key = principal ? `user:${principal.userId}` : `ip:${request.ip}`;
    const limit = principal ? this.#limits.perUser : this.#limits.perAddress;
    const now = Date.now();
    // Within the verifier's clock skew a token still passes; a stream would only end at once.
    if (principal && principal.expiresAt <= now) throw tokenExpired();
    const count = this.#open.get(key) ?? 0;
    if (count >= limit) throw tooMany(limit);
    this.#open.set(key, count + 1);
    this.#gauge.inc();

    // A stream outlasts the request deadline by design: cleared, so upstream calls carry none.
    const context = currentRequestContext();
    if (context) context.deadline = undefined;
    const controller = new AbortController();
    let ended: EndReason | undefined;
    const end = (reason: EndReason) => {
      ended ??= reason;
      controller.abort();
    };
    const leave = () => controller.abort();
    request.raw.once('close', leave);
    const expiry = principal ? setTimeout(end, principal.expiresAt - now, 'token_expired') : undefined;
    const mine = principal ? (this.#byUser.get(principal.userId) ?? new Set()) : undefined;
    if (principal && mine) {
      mine.add(end);
      this.#byUser.set(principal.userId, mine);
    }
    let closed = false;
    return {
      signal: controller.signal,
      get ended() {
        return ended;
      },
      close: () => {
        if (closed) return;
        closed = true;
        clearTimeout(expiry);
        request.raw.off('close', leave);
        controller.abort();
        if (principal && mine) {
          mine.delete(end);
          if (mine.size === 0) this.#byUser.delete(principal.userId);
        }
        const left = (this.#open.get(key) ?? 1) - 1;
        if (left > 0) this.#open.set(key, left);
        else this.#open.delete(key);
        this.#gauge.dec();
      },
    };
  }
}
