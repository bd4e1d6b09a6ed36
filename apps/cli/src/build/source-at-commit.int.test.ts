import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, readlink, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { repositoryRoot } from '../services.ts';
import { sourceAtCommit } from './source-at-commit.ts';
import { VersionError } from './versions.ts';

describe('a commit’s sources to build a version from (mercato build --from)', () => {
  const dataDirs: string[] = [];
  const dataDir = async () => {
    const made = await mkdtemp(path.join(tmpdir(), 'mercato-sources-'));
    dataDirs.push(made);
    return made;
  };
  afterAll(async () => {
    for (const made of dataDirs) await rm(made, { recursive: true, force: true });
  });

  it('holds the commit’s files, its own @mercato packages and this checkout’s other dependencies', async () => {
    const commit = execFileSync('git', ['-C', repositoryRoot, 'rev-parse', 'HEAD'], {
      encoding: 'utf8',
    }).trim();
    const into = await dataDir();
    const tree = await sourceAtCommit('HEAD', repositoryRoot, into);
    expect(tree).toEqual({ root: path.join(into, 'sources', commit), commit, installed: [] });
    const committed = execFileSync(
      'git',
      ['-C', repositoryRoot, 'show', 'HEAD:services/catalog/src/main.ts'],
      {
        encoding: 'utf8',
      },
    );
    expect(await readFile(path.join(tree.root, 'services/catalog/src/main.ts'), 'utf8')).toBe(committed);
    // Relative, into the tree itself: the tree was built elsewhere and renamed into place.
    expect(await readlink(path.join(tree.root, 'node_modules/@mercato/chassis'))).toBe(
      '../../packages/chassis',
    );
    expect((await stat(path.join(tree.root, 'node_modules/@mercato/chassis/src/index.ts'))).isFile()).toBe(
      true,
    );
    expect(await readlink(path.join(tree.root, 'node_modules/zod'))).toBe(
      path.join(repositoryRoot, 'node_modules/zod'),
    );
    // Asked again, the same tree, not extracted twice.
    expect(await sourceAtCommit(commit, repositoryRoot, into)).toEqual(tree);
  }, 60_000);

  it('installs for the commit, and for it alone, a dependency it used that this checkout dropped', async () => {
    // The last commit whose chassis still depended on @opentelemetry/instrumentation-pg.
    const commit = 'a7ab168';
    const dropped = '@opentelemetry/instrumentation-pg';
    await expect(stat(path.join(repositoryRoot, 'node_modules', dropped))).rejects.toThrow();
    const into = await dataDir();
    const tree = await sourceAtCommit(commit, repositoryRoot, into);
    expect(tree.installed).toEqual([`${dropped}@0.74.0`]);
    const manifest = JSON.parse(
      await readFile(path.join(tree.root, 'node_modules', dropped, 'package.json'), 'utf8'),
    ) as { version: string };
    expect(manifest.version).toBe('0.74.0');
    // Its scope's other packages are still this checkout's; nothing was added to the checkout.
    expect(await readlink(path.join(tree.root, 'node_modules/@opentelemetry/api'))).toBe(
      path.join(repositoryRoot, 'node_modules/@opentelemetry/api'),
    );
    await expect(stat(path.join(repositoryRoot, 'node_modules', dropped))).rejects.toThrow();
    expect((await sourceAtCommit(commit, repositoryRoot, into)).installed).toEqual(tree.installed);
  }, 120_000);

  it('refuses what is not a commit here, naming it', async () => {
    const into = await dataDir();
    await expect(sourceAtCommit('no-such-branch', repositoryRoot, into)).rejects.toThrow(VersionError);
    await expect(sourceAtCommit('no-such-branch', repositoryRoot, into)).rejects.toThrow(
      /no commit "no-such-branch"/,
    );
    await expect(sourceAtCommit('--upload-pack=x', repositoryRoot, into)).rejects.toThrow(
      /is not a git revision/,
    );
  });
});
