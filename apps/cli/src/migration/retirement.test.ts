import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { writeFileAtomically } from '../supervisor/run-state.ts';
import { readRetirement, retirementRecordPath } from './retirement.ts';

describe('the record of the monolith’s retirement', () => {
  const folders: string[] = [];
  const dataDir = async () => {
    const folder = await mkdtemp(path.join(tmpdir(), 'mercato-retirement-'));
    folders.push(folder);
    return folder;
  };
  afterEach(async () => {
    await Promise.all(folders.splice(0).map((folder) => rm(folder, { recursive: true, force: true })));
  });

  it('is absent until the monolith retired', async () => {
    expect(await readRetirement(await dataDir())).toBeUndefined();
  });

  it('is read back as written', async () => {
    const folder = await dataDir();
    const record = {
      retiredAt: '2026-12-05T04:31:34.901Z',
      lsn: '0/199CD840',
      dropped: { slots: ['s'], publications: ['p'] },
    };
    await writeFileAtomically(retirementRecordPath(folder), JSON.stringify(record));
    expect(await readRetirement(folder)).toEqual(record);
  });

  it('names the file and the way out when it is damaged', async () => {
    const folder = await dataDir();
    await writeFileAtomically(retirementRecordPath(folder), '{"retiredAt": ');
    await expect(readRetirement(folder)).rejects.toThrow(
      /legacy\/retired\.json is not the record of a retirement .*restore it from a copy/,
    );
  });
});
