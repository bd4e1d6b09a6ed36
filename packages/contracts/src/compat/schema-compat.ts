/**
 * Can a reader whose schema is `reader` read everything a writer whose schema is `writer` writes?
 * Both are JSON Schemas as zod's `toJSONSchema` emits them (draft 2020-12): objects with
 * properties and required, arrays with items, strings, numbers and integers with their bounds,
 * enums and consts, anyOf, nullable as anyOf with null. Unknown properties are no problem for a
 * reader unless its object forbids them (`additionalProperties: false`): zod's objects strip them.
 *
 * Written here because the libraries that compare JSON Schemas either need the whole value space
 * (json-schema-diff, slow and unmaintained) or compare documents textually; what a message consumer
 * needs is this one question, over the subset our contracts use, with an answer that names the
 * field. Anything outside the subset is compared for equality, so an unknown keyword that changed
 * is reported rather than passed.
 */
export type JsonSchema = { [keyword: string]: unknown };

/** One reason the reader may fail on what the writer writes, with the field it concerns. */
export interface Incompatibility {
  path: string;
  problem: string;
}

const HANDLED = new Set([
  '$schema',
  'type',
  'properties',
  'required',
  'additionalProperties',
  'items',
  'minItems',
  'maxItems',
  'minLength',
  'maxLength',
  'pattern',
  'format',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'enum',
  'const',
  'anyOf',
  'oneOf',
  'default',
  'description',
  'title',
]);

const isSchema = (value: unknown): value is JsonSchema =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const typesOf = (schema: JsonSchema): string[] | undefined => {
  const type = schema.type;
  if (typeof type === 'string') return [type];
  if (Array.isArray(type)) return type.filter((t): t is string => typeof t === 'string');
  return undefined;
};

/** The values a schema allows when it lists them (enum or const). */
const valuesOf = (schema: JsonSchema): unknown[] | undefined => {
  if ('const' in schema) return [schema.const];
  return Array.isArray(schema.enum) ? schema.enum : undefined;
};

const same = (a: unknown, b: unknown) => JSON.stringify(a) === JSON.stringify(b);
const join = (path: string, key: string) => (path ? `${path}.${key}` : key);
const num = (value: unknown): number | undefined => (typeof value === 'number' ? value : undefined);

/** Everything the reader cannot read of what the writer writes; empty when it reads it all. */
export function readerAccepts(reader: JsonSchema, writer: JsonSchema, path = ''): Incompatibility[] {
  const problems: Incompatibility[] = [];
  const report = (problem: string, at = path) => problems.push({ path: at || '(root)', problem });

  // A writer that writes one of several shapes: the reader must read each.
  const writerBranches = (writer.anyOf ?? writer.oneOf) as unknown;
  if (Array.isArray(writerBranches)) {
    for (const branch of writerBranches.filter(isSchema))
      problems.push(...readerAccepts(reader, branch, path));
    return problems;
  }
  const readerBranches = (reader.anyOf ?? reader.oneOf) as unknown;
  if (Array.isArray(readerBranches)) {
    const branches = readerBranches.filter(isSchema);
    if (branches.some((branch) => readerAccepts(branch, writer, path).length === 0)) return problems;
    report('is written in a shape none of the reader’s alternatives reads');
    return problems;
  }

  const readerTypes = typesOf(reader);
  const writerTypes = typesOf(writer);
  if (readerTypes) {
    if (!writerTypes) report(`may be written as any type; the reader reads only ${readerTypes.join(' or ')}`);
    else
      for (const type of writerTypes) {
        const read = readerTypes.includes(type) || (type === 'integer' && readerTypes.includes('number'));
        if (!read) report(`is written as ${type}; the reader reads ${readerTypes.join(' or ')}`);
      }
  }

  const readerValues = valuesOf(reader);
  if (readerValues) {
    const writerValues = valuesOf(writer);
    if (!writerValues)
      report(`the reader reads only ${JSON.stringify(readerValues)}; any value may be written`);
    else
      for (const value of writerValues)
        if (!readerValues.some((known) => same(known, value)))
          report(
            `${JSON.stringify(value)} may be written; the reader reads only ${JSON.stringify(readerValues)}`,
          );
  }

  bound(reader, writer, 'minLength', 'at least', (r, w) => r <= w, report);
  bound(reader, writer, 'maxLength', 'at most', (r, w) => r >= w, report);
  bound(reader, writer, 'minItems', 'at least', (r, w) => r <= w, report);
  bound(reader, writer, 'maxItems', 'at most', (r, w) => r >= w, report);
  numericBounds(reader, writer, report);
  for (const keyword of ['pattern', 'format'] as const)
    if (reader[keyword] !== undefined && !same(reader[keyword], writer[keyword]))
      report(
        `the reader requires ${keyword} ${JSON.stringify(reader[keyword])}; the writer ${writer[keyword] === undefined ? 'has none' : `writes ${JSON.stringify(writer[keyword])}`}`,
      );

  if (isSchema(reader.items)) {
    if (isSchema(writer.items)) problems.push(...readerAccepts(reader.items, writer.items, `${path}[]`));
    else report('items may be anything; the reader reads a given shape');
  }

  if (isSchema(reader.properties) || reader.additionalProperties === false) {
    const readerProps = isSchema(reader.properties) ? reader.properties : {};
    const writerProps = isSchema(writer.properties) ? writer.properties : {};
    const writerRequired = new Set(Array.isArray(writer.required) ? writer.required : []);
    const readerRequired = Array.isArray(reader.required) ? (reader.required as string[]) : [];
    for (const key of readerRequired)
      if (!writerRequired.has(key))
        report(
          key in writerProps
            ? 'is optional for the writer; the reader requires it'
            : 'is required by the reader; the writer does not write it',
          join(path, key),
        );
    for (const [key, schema] of Object.entries(readerProps)) {
      const written = writerProps[key];
      if (isSchema(schema) && isSchema(written))
        problems.push(...readerAccepts(schema, written, join(path, key)));
    }
    if (reader.additionalProperties === false)
      for (const key of Object.keys(writerProps))
        if (!(key in readerProps)) report('is written; the reader allows no unknown fields', join(path, key));
  }

  for (const keyword of Object.keys(reader))
    if (!HANDLED.has(keyword) && !same(reader[keyword], writer[keyword]))
      report(`keyword ${keyword} changed and cannot be compared`);
  return problems;
}

function bound(
  reader: JsonSchema,
  writer: JsonSchema,
  keyword: string,
  words: string,
  holds: (readerBound: number, writerBound: number) => boolean,
  report: (problem: string) => void,
) {
  const readerBound = num(reader[keyword]);
  if (readerBound === undefined) return;
  const writerBound = num(writer[keyword]);
  if (writerBound === undefined || !holds(readerBound, writerBound))
    report(
      `the reader requires ${keyword} ${words} ${readerBound}; the writer ${writerBound === undefined ? 'has no such bound' : `allows ${writerBound}`}`,
    );
}

/** Lower and upper bounds of numbers, inclusive or exclusive: the writer's range must lie within the reader's. */
function numericBounds(reader: JsonSchema, writer: JsonSchema, report: (problem: string) => void) {
  const lower = (schema: JsonSchema) => {
    const exclusive = num(schema.exclusiveMinimum);
    const inclusive = num(schema.minimum);
    if (exclusive !== undefined && (inclusive === undefined || exclusive >= inclusive))
      return { at: exclusive, open: true };
    return inclusive === undefined ? undefined : { at: inclusive, open: false };
  };
  const upper = (schema: JsonSchema) => {
    const exclusive = num(schema.exclusiveMaximum);
    const inclusive = num(schema.maximum);
    if (exclusive !== undefined && (inclusive === undefined || exclusive <= inclusive))
      return { at: exclusive, open: true };
    return inclusive === undefined ? undefined : { at: inclusive, open: false };
  };
  const readerLow = lower(reader);
  const writerLow = lower(writer);
  if (readerLow) {
    const within =
      writerLow !== undefined &&
      (writerLow.at > readerLow.at || (writerLow.at === readerLow.at && (writerLow.open || !readerLow.open)));
    if (!within)
      report(
        `the reader requires values ${readerLow.open ? '>' : '≥'} ${readerLow.at}; the writer may write less`,
      );
  }
  const readerHigh = upper(reader);
  const writerHigh = upper(writer);
  if (readerHigh) {
    const within =
      writerHigh !== undefined &&
      (writerHigh.at < readerHigh.at ||
        (writerHigh.at === readerHigh.at && (writerHigh.open || !readerHigh.open)));
    if (!within)
      report(
        `the reader requires values ${readerHigh.open ? '<' : '≤'} ${readerHigh.at}; the writer may write more`,
      );
  }
}
