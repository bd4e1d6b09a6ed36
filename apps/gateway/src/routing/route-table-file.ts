import { readFileSync } from 'node:fs';
import type * as z from 'zod';
import { routeTableDocument } from './route-table.schema.ts';
import { RouteTable } from './route-table.ts';

/** Replaces `${NAME}` in every string of the document; an unknown name is an error. */
function substitute(value: unknown, variables: Readonly<Record<string, string | undefined>>): unknown {
  if (typeof value === 'string')
    return value.replace(/\$\{([A-Z0-9_]+)\}/g, (_, variable: string) => {
      const resolved = variables[variable];
      if (resolved === undefined) throw new Error(`\${${variable}} is not set`);
      return resolved;
    });
  if (Array.isArray(value)) return value.map((item) => substitute(item, variables));
  if (value !== null && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, substitute(v, variables)]));
  return value;
}

const oneLine = (error: z.ZodError) =>
  error.issues.map((issue) => `${issue.path.join('.') || '(root)'}: ${issue.message}`).join('; ');

/**
 * Reads and validates a routing table file (JSON). Throws one Error whose message names the file
 * and every problem in it, so a bad file fails start-up in one line and a bad reload is refused.
 */
export function readRouteTable(
  file: string,
  variables: Readonly<Record<string, string | undefined>>,
  version: number,
): RouteTable {
  const fail = (problem: string): never => {
    throw new Error(`routing table ${file}: ${problem}`);
  };
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    fail(`cannot read it (${(error as NodeJS.ErrnoException).code ?? String(error)})`);
  }
  let raw: unknown;
  try {
    raw = substitute(JSON.parse(text), variables);
  } catch (error) {
    fail(error instanceof Error ? error.message : String(error));
  }
  const parsed = routeTableDocument.safeParse(raw);
  if (!parsed.success) fail(oneLine(parsed.error));
  return new RouteTable(parsed.data as z.output<typeof routeTableDocument>, version);
}
