import { spawnSync } from 'node:child_process';
import { access, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repositoryRoot } from '../services.ts';
import { bundleOptions } from './bundle-options.ts';
import { finishBundle } from './finish-bundle.ts';
import { writeLibraryBesideOurs } from './library-beside-ours.fixture.ts';

// Node 22+ keeps its own compile cache (module.enableCompileCache); Node 20 gets our file beside the bundle.
const nodeKeepsTheCache =
  typeof (createRequire(import.meta.url)('node:module') as { enableCompileCache?: unknown })
    .enableCompileCache === 'function';

describe('a bundle run by the launcher', () => {
  let folder = '';
  const dist = () => path.join(folder, 'dist');
  const launch = (env: Record<string, string> = {}) =>
    spawnSync(process.execPath, [path.join(dist(), 'launch.cjs')], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', MERCATO_CODE_CACHE_AFTER_MS: '100', ...env },
    });

  beforeAll(async () => {
    // Inside the repository, so the package left out of the bundle resolves from its node_modules.
    const cache = path.join(repositoryRoot, 'node_modules', '.cache');
    await mkdir(cache, { recursive: true });
    folder = await mkdtemp(path.join(cache, 'mercato-launch-'));
    // A package left out of the bundle, imported once the code cache would hold the function
    // compiled; then an error whose stack must name this file's line 6.
    await writeFile(
      path.join(folder, 'main.ts'),
      [
        'async function run(): Promise<void> {',
        "  const { runner } = await import('node-pg-migrate');",
        "  console.log('imported ' + typeof runner);",
        '  // A comment line, so the line numbers differ from the bundle’s.',
        '',
        "  throw new Error('boom');",
        '}',
        'setTimeout(() => run().catch((error: Error) => console.log(error.stack)), 10);',
        'setTimeout(() => undefined, 400);',
        '',
      ].join('\n'),
    );
    await writeFile(path.join(folder, 'preload.ts'), 'export {};\n');
    const result = await esbuild.build(
      bundleOptions(
        {
          main: path.join(folder, 'main.ts'),
          preload: path.join(folder, 'preload.ts'),
          launch: path.join(import.meta.dirname, 'launch.ts'),
        },
        dist(),
      ),
    );
    expect(result.errors).toEqual([]);
    await finishBundle(path.join(dist(), 'main.cjs'), path.join(dist(), 'main.cjs.map'), ['node-pg-migrate']);
  });
  afterAll(() => rm(folder, { recursive: true, force: true }));

  it('imports what is left out of it and maps stack frames to our TypeScript, from the code cache too', async () => {
    const first = launch();
    expect(first.stdout, first.stderr).toContain('imported function');
    expect(first.stdout).toMatch(/main\.ts:6:\d+/);
    if (!nodeKeepsTheCache) await access(path.join(dist(), 'main.cjs.v8cache'));
    const second = launch();
    expect(second.stdout, second.stderr).toContain('imported function');
    expect(second.stdout).toMatch(/main\.ts:6:\d+/);
    expect(second.stderr).toBe('');
    // Two Node processes started one after the other: over 5 s once in CI (7 Dec) on Node 24 beside
    // the e2e suite and a benchmark.
  }, 30_000);

  it('refuses a value it does not know in one line, as a configuration error', () => {
    const run = launch({ MERCATO_CODE_CACHE: 'sometimes' });
    expect(run.status).toBe(78);
    expect(run.stderr.trim()).toBe(
      'service: failed to start: MERCATO_CODE_CACHE must be "on" or "off", not "sometimes"',
    );
  });

  it('runs the same without the cache', () => {
    const run = launch({ MERCATO_CODE_CACHE: 'off' });
    expect(run.stdout, run.stderr).toContain('imported function');
    expect(run.stdout).toMatch(/main\.ts:6:\d+/);
  });
});

describe("the launcher's stack frames", () => {
  let folder = '';
  beforeAll(async () => {
    const cache = path.join(repositoryRoot, 'node_modules', '.cache');
    await mkdir(cache, { recursive: true });
    folder = await mkdtemp(path.join(cache, 'mercato-frames-'));
    await writeLibraryBesideOurs(folder, 'main', [
      'try {',
      '  run();',
      '} catch (error) {',
      '  console.log((error as Error).stack);',
      '}',
    ]);
    await writeFile(path.join(folder, 'preload.ts'), 'export {};\n');
    const dist = path.join(folder, 'dist');
    await esbuild.build({
      ...bundleOptions(
        {
          main: path.join(folder, 'main.ts'),
          preload: path.join(folder, 'preload.ts'),
          launch: path.join(import.meta.dirname, 'launch.ts'),
        },
        dist,
      ),
      external: [],
    });
    await finishBundle(path.join(dist, 'main.cjs'), path.join(dist, 'main.cjs.map'));
  });
  afterAll(() => rm(folder, { recursive: true, force: true }));

  it("keeps a library's frame at its bundle line and maps ours, without failing to format the stack", () => {
    const bundle = path.join(folder, 'dist', 'main.cjs');
    const run = spawnSync(process.execPath, [path.join(folder, 'dist', 'launch.cjs')], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '' },
    });
    expect(run.status, run.stderr).toBe(0);
    const frames = run.stdout.split('\n').filter((line) => line.trim().startsWith('at '));
    expect(frames[0]).toContain(`libFail (${bundle}:`);
    expect(frames[1]).toMatch(/at run \(.*main\.ts:4:\d+\)/);
  });
});
