import { describe, expect, it } from 'vitest';
import { readableVersions, type SchemaVersions, upcastTo } from './schema-versions.ts';

type Data = Record<string, unknown>;
const schema: SchemaVersions<Data> = {
  version: 3,
  upcasters: [
    { from: 1, to: 2, upcast: ({ by, ...data }) => ({ ...data, amount: by }) },
    { from: 2, to: 3, upcast: (data) => ({ unit: 'piece', ...data }) },
  ],
};

describe('schema versions', () => {
  it('brings a value up step by step, and leaves the current version as it is', () => {
    expect(upcastTo(schema, { by: 7 }, 1, 'added')).toEqual({
      ok: true,
      value: { amount: 7, unit: 'piece' },
    });
    expect(upcastTo(schema, { amount: 8 }, 2, 'added')).toEqual({
      ok: true,
      value: { amount: 8, unit: 'piece' },
    });
    expect(upcastTo(schema, { amount: 9, unit: 'kg' }, 3, 'added')).toEqual({
      ok: true,
      value: { amount: 9, unit: 'kg' },
    });
  });

  it('refuses a newer version, a missing step and a step that does not move forward', () => {
    expect(upcastTo(schema, {}, 4, 'added')).toEqual({
      ok: false,
      reason:
        'added is at version 4, newer than 3, the latest this release reads (written by a newer release)',
    });
    const gap: SchemaVersions<Data> = { version: 3, upcasters: [{ from: 2, to: 3, upcast: (d) => d }] };
    expect(upcastTo(gap, {}, 1, 'added')).toEqual({
      ok: false,
      reason: 'added is at version 1, with no upcaster to 3',
    });
    const loop: SchemaVersions<Data> = { version: 3, upcasters: [{ from: 1, to: 1, upcast: (d) => d }] };
    expect(upcastTo(loop, {}, 1, 'added').ok).toBe(false);
    const past: SchemaVersions<Data> = { version: 2, upcasters: [{ from: 1, to: 3, upcast: (d) => d }] };
    expect(upcastTo(past, {}, 1, 'added').ok).toBe(false);
    expect(upcastTo(schema, {}, 0, 'added').ok).toBe(false);
  });

  it('lists the versions it can read', () => {
    expect(readableVersions(schema)).toEqual([1, 2, 3]);
    expect(readableVersions({ version: 3, upcasters: [{ from: 2, to: 3, upcast: (d: Data) => d }] })).toEqual(
      [2, 3],
    );
    expect(readableVersions({ version: 1 })).toEqual([1]);
  });
});
