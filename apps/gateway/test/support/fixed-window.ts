import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Waits, if need be, until a sequence lasting up to `neededMs` fits before the end of the current
 * fixed rate-limit window (a calendar `windowMs`, e.g. a minute): a sequence that straddles the
 * boundary starts counting again in the next window and its refusals come late (seen in CI).
 */
export async function fitInFixedWindow(windowMs: number, neededMs: number): Promise<void> {
  const leftInWindow = windowMs - (Date.now() % windowMs);
  if (leftInWindow < neededMs) await sleep(leftInWindow + 50);
}
