import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleOptions } from './bundle-options.ts';
import { finishBundle } from './finish-bundle.ts';
import { writeLibraryBesideOurs } from './library-beside-ours.fixture.ts';

describe('finishBundle', () => {
  let folder = '';
  beforeAll(async () => {
    folder = await mkdtemp(path.join(tmpdir(), 'mercato-bundle-'));
    // Non-ASCII in a regular expression (which esbuild's ascii charset leaves alone), in a string
    // and in a comment, before a line that throws.
    await writeFile(
      path.join(folder, 'main.ts'),
      [
        'const units = /(\\d+)(µs|ms)/; // 1 µs → 1000 ns',
        "const arrow = 'a → b';",
        'export function fail(): never {',
        "  throw new Error(units.test('5µs') + ' ' + arrow);",
        '}',
        'fail();',
        '',
      ].join('\n'),
    );
    await esbuild.build({
      ...bundleOptions({ main: path.join(folder, 'main.ts') }, path.join(folder, 'dist')),
    });
    await finishBundle(path.join(folder, 'dist', 'main.cjs'), path.join(folder, 'dist', 'main.cjs.map'));

    // A library's function that lands on the same minified line after code of ours.
    await writeLibraryBesideOurs(folder, 'mixed', ['run();']);
    await esbuild.build({
      ...bundleOptions({ mixed: path.join(folder, 'mixed.ts') }, path.join(folder, 'dist')),
      external: [],
    });
    await finishBundle(path.join(folder, 'dist', 'mixed.cjs'), path.join(folder, 'dist', 'mixed.cjs.map'));
  });
  afterAll(() => rm(folder, { recursive: true, force: true }));

  it('leaves a bundle of ASCII only, that still behaves the same', async () => {
    const code = await readFile(path.join(folder, 'dist', 'main.cjs'), 'utf8');
    expect([...code].every((character) => character.charCodeAt(0) < 0x80)).toBe(true);
    const run = spawnSync(process.execPath, [path.join(folder, 'dist', 'main.cjs')], { encoding: 'utf8' });
    expect(run.stderr).toContain('Error: true a → b');
  });

  it('keeps stack frames pointing at the TypeScript line, escapes and all', () => {
    const run = spawnSync(process.execPath, ['--enable-source-maps', path.join(folder, 'dist', 'main.cjs')], {
      encoding: 'utf8',
    });
    expect(run.stderr).toMatch(/main\.ts:4:\d+/);
  });

  it("leaves a library's frame at its bundle line, not at the nearest earlier line of ours", () => {
    const bundle = path.join(folder, 'dist', 'mixed.cjs');
    const run = spawnSync(process.execPath, ['--enable-source-maps', bundle], { encoding: 'utf8' });
    const frames = run.stderr.split('\n').filter((line) => line.trim().startsWith('at '));
    expect(frames[0]).toContain(`libFail (${bundle}:`);
    expect(frames[1]).toMatch(/at run \(.*mixed\.ts:4:\d+\)/);
  });
});
