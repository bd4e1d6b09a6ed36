import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { bundleOptions } from './bundle-options.ts';
import { finishBundle } from './finish-bundle.ts';

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
    const library = path.join(folder, 'node_modules', 'fakelib');
    await mkdir(library, { recursive: true });
    await writeFile(
      path.join(library, 'package.json'),
      '{"name":"fakelib","version":"1.0.0","main":"index.js","type":"module"}',
    );
    await writeFile(
      path.join(library, 'index.js'),
      "export function libFail(what) {\n  if (what) throw new Error('from the library');\n  return 1;\n}\n",
    );
    await writeFile(path.join(folder, 'first.ts'), 'export const first = (n: number) => n + 1;\n');
    await writeFile(
      path.join(folder, 'mixed.ts'),
      [
        "import { libFail } from 'fakelib';",
        "import { first } from './first.ts';",
        'export function run(): number {',
        '  return first(libFail(true));',
        '}',
        'run();',
        '',
      ].join('\n'),
    );
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
