import type * as z from 'zod';

/** A configuration that cannot be used. Its message is one line naming every bad variable. */
export class ConfigError extends Error {
  readonly problems: readonly string[];

  constructor(problems: readonly string[]) {
    super(`invalid configuration: ${problems.join('; ')}`);
    this.name = 'ConfigError';
    this.problems = problems;
  }
}

const shown = (value: string | undefined): string => {
  if (value === undefined) return 'it is not set';
  // Keep credentials in URLs out of the message.
  const redacted = value.replace(/(\/\/[^:/@]+):[^@]*@/, '$1:***@');
  const clipped = redacted.length > 60 ? `${redacted.slice(0, 60)}…` : redacted;
  return `got ${JSON.stringify(clipped)}`;
};

/** Parses the environment once, at start. Throws `ConfigError` naming each variable that is wrong. */
export function loadConfig<Schema extends z.ZodType>(
  schema: Schema,
  source: Record<string, string | undefined> = process.env,
): z.output<Schema> {
  const result = schema.safeParse(source);
  if (result.success) return result.data;
  const problems = result.error.issues.map((issue) => {
    const variable = issue.path.map(String).join('.') || '(environment)';
    const raw = typeof issue.path[0] === 'string' ? source[issue.path[0]] : undefined;
    // Never echo secrets back into logs.
    const value = /PASSWORD|SECRET|TOKEN|KEY/.test(variable) ? '' : ` (${shown(raw)})`;
    return `${variable}: ${issue.message}${value}`;
  });
  throw new ConfigError(problems);
}
