import { isAppError } from '@mercato/chassis';

export interface Degraded {
  part: string;
  /** timeout, unavailable (incl. open circuit), not_deployed, or the upstream's error kind. */
  reason: string;
  /** The stable error code when the upstream gave one. */
  code?: string;
}

/** A part of a composed answer; it must stop when `signal` aborts. */
export type Part<T> = (signal: AbortSignal) => Promise<T>;

/** Thrown by a part whose backend does not exist in this deployment (yet). */
export class NotDeployed extends Error {}

type Values<P extends Record<string, Part<unknown>>> = {
  [K in keyof P]: Awaited<ReturnType<P[K]>> | null;
};

const reasonOf = (error: unknown, timedOut: boolean): Omit<Degraded, 'part'> => {
  if (timedOut) return { reason: 'timeout' };
  if (error instanceof NotDeployed) return { reason: 'not_deployed' };
  if (isAppError(error)) return { reason: error.kind, code: error.code };
  return { reason: 'failed' };
};

/**
 * Runs every part at once, each under its own deadline, and never fails as a whole: a part that
 * fails or runs out of time comes back `null` and is named in `degraded`. The answer is ready when
 * the slowest part finishes or hits its deadline, not after the sum of them.
 */
export async function composeParts<P extends Record<string, Part<unknown>>>(
  parts: P,
  timeoutMs: number,
): Promise<{ values: Values<P>; degraded: Degraded[] }> {
  const degraded: Degraded[] = [];
  const entries = await Promise.all(
    Object.entries(parts).map(async ([name, part]) => {
      const controller = new AbortController();
      const timer = setTimeout(
        () => controller.abort(new DOMException(`${name} took longer than ${timeoutMs} ms`, 'TimeoutError')),
        Math.max(1, timeoutMs),
      );
      // A part that ignores its signal still cannot hold the answer past its deadline.
      const expired = new Promise<never>((_, reject) =>
        controller.signal.addEventListener('abort', () => reject(controller.signal.reason), { once: true }),
      );
      try {
        return [name, await Promise.race([part(controller.signal), expired])] as const;
      } catch (error) {
        degraded.push({ part: name, ...reasonOf(error, controller.signal.aborted || isTimeout(error)) });
        return [name, null] as const;
      } finally {
        clearTimeout(timer);
      }
    }),
  );
  return { values: Object.fromEntries(entries) as Values<P>, degraded };
}

const isTimeout = (error: unknown) =>
  (error instanceof DOMException && error.name === 'TimeoutError') ||
  (isAppError(error) && error.kind === 'timeout');
