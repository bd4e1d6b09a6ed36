import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';

const repositoryRoot = fileURLToPath(new URL('../../..', import.meta.url));
const launcher = path.join(repositoryRoot, 'apps', 'cli', 'bin', 'mercato.mjs');
const record = path.join(repositoryRoot, 'apps', 'cli', 'dist', 'mercato.json');
const bundle = path.join(repositoryRoot, 'apps', 'cli', 'dist', 'mercato.mjs');

const mercato = (...args: string[]) =>
  new Promise<{ code: number | null; output: string }>((resolve) => {
    execFile(process.execPath, [launcher, ...args], { cwd: repositoryRoot }, (error, stdout, stderr) =>
      resolve({ code: error ? (error.code as number) : 0, output: `${stdout}${stderr}` }),
    );
  });

const scratch = mkdtempSync(path.join(tmpdir(), 'mercato-launcher-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

// The launcher in the repository itself (other suites run it at the same time): nothing here removes
// the bundle, and a rebuild is made to happen by naming, in the record, a file changed after it.
describe('the mercato launcher', () => {
  it('runs the CLI from its bundle: a command answers, an unknown one is refused with the list', async () => {
    const unknown = await mercato('nosuch');
    expect(unknown.code).toBe(64);
    expect(unknown.output).toContain('mercato: unknown command "nosuch" (available: start, dev, build');
    const usage = await mercato('dead-letters');
    expect(usage.code).toBe(64);
    expect(usage.output).toContain('usage: mercato dead-letters <service>');
    // Made from our TypeScript (its own inputs recorded, libraries left to the lockfile).
    const { inputs } = JSON.parse(readFileSync(record, 'utf8')) as { inputs: string[] };
    expect(inputs).toContain(path.join('apps', 'cli', 'src', 'main.ts'));
    expect(inputs.some((input) => input.includes('node_modules'))).toBe(false);
  });

  it('rebuilds when a file it was made from changed since, and not otherwise', async () => {
    await mercato('nosuch');
    const source = path.join(scratch, 'changed.ts');
    writeFileSync(source, '');
    const later = new Date(Date.now() + 60_000);
    utimesSync(source, later, later);
    const { inputs } = JSON.parse(readFileSync(record, 'utf8')) as { inputs: string[] };
    writeFileSync(record, JSON.stringify({ inputs: [...inputs, path.relative(repositoryRoot, source)] }));
    const bundleBefore = statSync(bundle).mtimeMs;

    expect((await mercato('nosuch')).code).toBe(64);
    // Rebuilt: a new bundle, and a record of what it was made from (the scratch file is not).
    expect(statSync(bundle).mtimeMs).toBeGreaterThan(bundleBefore);
    const rebuilt = readFileSync(record, 'utf8');
    expect(rebuilt).not.toContain('changed.ts');

    // Another suite's command started while the record named the changed file rebuilt too, and its
    // build may end after this one's (CI, 8 Dec: the record rewritten 0.5 s later by such a build,
    // dated when it began). Every such build began before this rebuild ended; once the record has
    // kept its time for 10 s, none is left.
    let recordAt = statSync(record).mtimeMs;
    for (let quietSince = Date.now(); Date.now() - quietSince < 10_000; ) {
      await sleep(250);
      const now = statSync(record).mtimeMs;
      if (now !== recordAt) [recordAt, quietSince] = [now, Date.now()];
    }
    const bundleAt = statSync(bundle).mtimeMs;
    expect((await mercato('nosuch')).code).toBe(64);
    expect(statSync(record).mtimeMs).toBe(recordAt);
    expect(statSync(bundle).mtimeMs).toBe(bundleAt);
  }, 60_000);
});
