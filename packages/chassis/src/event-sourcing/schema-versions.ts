/** How a value stored at schema version `from` becomes version `to` (a later one). */
export interface Upcaster<Value> {
  from: number;
  to: number;
  upcast: (value: Value) => Value;
}

/**
 * A stored shape's current version and the upcasters that bring older versions up to it, step by
 * step (1 → 2 → 3), as the message contracts do for envelopes (`packages/contracts`).
 */
export interface SchemaVersions<Value> {
  version: number;
  upcasters?: readonly Upcaster<Value>[];
}

export type Upcast<Value> = { ok: true; value: Value } | { ok: false; reason: string };

/**
 * `value`, stored at `version`, brought to the schema's current version along its chain of
 * upcasters. A version newer than the current one (written by a newer release) or with no chain to
 * it is refused with the reason, never passed on in a shape the reader does not know.
 */
export function upcastTo<Value>(
  schema: SchemaVersions<Value>,
  value: Value,
  version: number,
  what: string,
): Upcast<Value> {
  const steps = chain(schema, version, what);
  if (!steps.ok) return steps;
  return { ok: true, value: steps.value.reduce((current, step) => step.upcast(current), value) };
}

/** The stored versions a schema can bring up to its current one (the current one included). */
export const readableVersions = <Value>(schema: SchemaVersions<Value>): number[] =>
  Array.from({ length: schema.version }, (_, index) => index + 1).filter(
    (version) => chain(schema, version, '').ok,
  );

function chain<Value>(
  schema: SchemaVersions<Value>,
  version: number,
  what: string,
): Upcast<Upcaster<Value>[]> {
  if (version > schema.version)
    return {
      ok: false,
      reason: `${what} is at version ${version}, newer than ${schema.version}, the latest this release reads (written by a newer release)`,
    };
  const steps: Upcaster<Value>[] = [];
  for (let at = version; at !== schema.version; ) {
    const step = schema.upcasters?.find((upcaster) => upcaster.from === at);
    // A step must move forward and not past the current version, so the chain always ends.
    if (!step || step.to <= at || step.to > schema.version)
      return { ok: false, reason: `${what} is at version ${at}, with no upcaster to ${schema.version}` };
    steps.push(step);
    at = step.to;
  }
  return { ok: true, value: steps };
}
