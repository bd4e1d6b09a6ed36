/** One row as the checker compares it: its key and the fields both sides hold, as one string. */
export type Fingerprints = Map<string, string>;

export interface TableDrift {
  /** Rows the monolith has. */
  source: number;
  /** Their counterparts in the service. */
  target: number;
  /** Keys in the monolith missing from the service, rows that differ, and rows only the service has. */
  missing: number;
  differing: number;
  extra: number;
  /** A few of each, to look at: the key, and both sides' fields when they differ. */
  examples: Array<{ key: string; kind: 'missing' | 'differing' | 'extra'; source?: string; target?: string }>;
}

const EXAMPLES = 5;

/** Row-by-row comparison of two fingerprinted tables. */
export function compareRows(source: Fingerprints, target: Fingerprints): TableDrift {
  const drift: TableDrift = {
    source: source.size,
    target: target.size,
    missing: 0,
    differing: 0,
    extra: 0,
    examples: [],
  };
  const example = (entry: TableDrift['examples'][number]) => {
    if (drift.examples.length < EXAMPLES * 3) drift.examples.push(entry);
  };
  for (const [key, fields] of source) {
    const counterpart = target.get(key);
    if (counterpart === undefined) {
      drift.missing += 1;
      example({ key, kind: 'missing', source: fields });
    } else if (counterpart !== fields) {
      drift.differing += 1;
      example({ key, kind: 'differing', source: fields, target: counterpart });
    }
  }
  for (const [key, fields] of target)
    if (!source.has(key)) {
      drift.extra += 1;
      example({ key, kind: 'extra', target: fields });
    }
  return drift;
}

export const driftOf = (table: TableDrift): number => table.missing + table.differing + table.extra;
