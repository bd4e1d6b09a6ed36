import { execFile, spawn } from 'node:child_process';
import { access, mkdir, readdir, readFile, rename, rm, symlink } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { VersionError } from './versions.ts';

const run = promisify(execFile);

export interface SourceTree {
  /** Where the commit's files are, ready to build (its own `@mercato/*` packages, our dependencies). */
  root: string;
  commit: string;
}

/**
 * The repository's files as they were at `ref` (a commit, a tag, a branch), to build an older or
 * other version of a service beside the running one (`mercato build --label v1 --from <ref>`):
 * `git archive` of the commit into `<data dir>/sources/<commit>`, kept there because a bundle reads
 * files beside its sources at run time (its migrations). Its `node_modules` is a farm of links: the
 * `@mercato/*` packages point at the commit's own packages (so the service is built with the
 * chassis and contracts of that commit, as it was released), everything else at this checkout's
 * installed dependencies. A dependency the commit used and this checkout no longer installs fails
 * the build, naming the import.
 *
 * By hand rather than `git worktree` + `npm ci`: a worktree is registered in the repository (and
 * left behind by an interrupted build), and installing takes half a minute and the network.
 */
export async function sourceAtCommit(
  ref: string,
  repositoryRoot: string,
  dataDir: string,
): Promise<SourceTree> {
  if (!/^[A-Za-z0-9][A-Za-z0-9._/~^-]{0,199}$/.test(ref))
    throw new VersionError(`--from: "${ref.slice(0, 80)}" is not a git revision`);
  const commit = await run('git', [
    '-C',
    repositoryRoot,
    'rev-parse',
    '--verify',
    '--quiet',
    `${ref}^{commit}`,
  ])
    .then(({ stdout }) => stdout.trim())
    .catch(() => {
      throw new VersionError(`--from: no commit "${ref}" in ${repositoryRoot}`);
    });
  const sources = path.join(dataDir, 'sources');
  const root = path.join(sources, commit);
  if (await exists(path.join(root, 'node_modules'))) return { root, commit };
  const temporary = path.join(sources, `.${commit}.${process.pid}`);
  await rm(temporary, { recursive: true, force: true });
  await mkdir(temporary, { recursive: true });
  try {
    await extract(repositoryRoot, commit, temporary);
    await linkDependencies(repositoryRoot, temporary);
    await rm(root, { recursive: true, force: true });
    await rename(temporary, root);
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    throw error;
  }
  return { root, commit };
}

/** `git archive <commit> | tar -x`, without a shell. */
function extract(repositoryRoot: string, commit: string, into: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const archive = spawn('git', ['-C', repositoryRoot, 'archive', '--format=tar', commit], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const untar = spawn('tar', ['-x', '-C', into], { stdio: ['pipe', 'ignore', 'pipe'] });
    archive.stdout.pipe(untar.stdin);
    let errors = '';
    archive.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
    });
    untar.stderr.on('data', (chunk: Buffer) => {
      errors += chunk.toString();
    });
    let pending = 2;
    const done = (name: string) => (code: number | null) => {
      if (code !== 0) reject(new Error(`${name} of ${commit} failed (exit ${code}): ${errors.trim()}`));
      else if (--pending === 0) resolve();
    };
    archive.on('error', reject);
    untar.on('error', reject);
    archive.on('exit', done('git archive'));
    untar.on('exit', done('tar'));
  });
}

/** The commit's workspaces (`packages/*`, `services/*`, `apps/*`), by package name. */
async function workspaces(root: string): Promise<Map<string, string>> {
  const found = new Map<string, string>();
  const manifest = JSON.parse(await readFile(path.join(root, 'package.json'), 'utf8')) as {
    workspaces?: string[];
  };
  for (const pattern of manifest.workspaces ?? []) {
    if (!pattern.endsWith('/*')) continue;
    const parent = path.join(root, pattern.slice(0, -2));
    for (const entry of await readdir(parent, { withFileTypes: true }).catch(() => [])) {
      if (!entry.isDirectory()) continue;
      const directory = path.join(parent, entry.name);
      const text = await readFile(path.join(directory, 'package.json'), 'utf8').catch(() => undefined);
      const name = text === undefined ? undefined : (JSON.parse(text) as { name?: string }).name;
      if (name) found.set(name, directory);
    }
  }
  return found;
}

async function linkDependencies(repositoryRoot: string, tree: string): Promise<void> {
  const installed = path.join(repositoryRoot, 'node_modules');
  const modules = path.join(tree, 'node_modules');
  await mkdir(path.join(modules, '@mercato'), { recursive: true });
  for (const entry of await readdir(installed)) {
    if (entry === '@mercato') continue;
    await symlink(path.join(installed, entry), path.join(modules, entry));
  }
  for (const [name, directory] of await workspaces(tree)) {
    // Relative: the tree is built in a temporary folder and then renamed into place.
    const link = path.join(modules, name);
    if (name.startsWith('@mercato/')) await symlink(path.relative(path.dirname(link), directory), link);
    // A workspace's own dependencies (those npm did not hoist) as this checkout installed them.
    const own = path.join(repositoryRoot, path.relative(tree, directory), 'node_modules');
    if (await exists(own)) await symlink(own, path.join(directory, 'node_modules'));
  }
}

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );
