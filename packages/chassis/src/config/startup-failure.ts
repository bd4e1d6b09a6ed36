/** Exit code for bad configuration (sysexits EX_CONFIG): the supervisor does not restart it. */
export const EXIT_CONFIG = 78;

/** One line for a start-up failure, including socket errors whose own message is empty. */
export function describe(error: unknown): string {
  if (error instanceof AggregateError && !error.message && error.errors.length > 0)
    return describe(error.errors[0]);
  if (!(error instanceof Error)) return String(error);
  const code = (error as NodeJS.ErrnoException).code;
  const cause = error.cause === undefined ? '' : ` (${describe(error.cause)})`;
  return `${error.message || code || error.name}${cause}`;
}
