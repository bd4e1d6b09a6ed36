/**
 * The string `code`s along an error and its chain of causes, outermost first (Node's socket errors
 * say `ECONNREFUSED` and the like; clients such as Connect and reply-from wrap them in errors of
 * their own, whose codes are numbers or their own names).
 */
export function errorCodes(error: unknown): string[] {
  const codes: string[] = [];
  let current: unknown = error;
  for (let depth = 0; current && typeof current === 'object' && depth < 8; depth += 1) {
    const { code, cause } = current as { code?: unknown; cause?: unknown };
    if (typeof code === 'string') codes.push(code);
    current = cause;
  }
  return codes;
}
