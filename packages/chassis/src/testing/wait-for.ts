/** Polls until `condition` holds and returns how long it took; throws after `timeoutMs`. */
export async function waitFor(
  what: string,
  condition: () => Promise<boolean> | boolean,
  timeoutMs = 10_000,
  intervalMs = 20,
): Promise<number> {
  const began = Date.now();
  for (;;) {
    if (await condition()) return Date.now() - began;
    if (Date.now() - began > timeoutMs) throw new Error(`${what} did not happen within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
