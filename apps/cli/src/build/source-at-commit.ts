import { execFile, spawn } from 'node:child_process';
import { access, mkdir, readdir, readFile, readlink, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { VersionError } from './versions.ts';

const run = promisify(execFile);

export interface SourceTree {
  /** Where the commit's files are, ready to build (its own `@mercato/*` packages, our dependencies). */
  root: string;
  commit: string;
  /** Packages the commit used that this checkout does not install, installed for it (`name@version`). */
  installed: string[];
}

/**
 * The repository's files as they were at `ref` (a commit, a tag, a branch), to build an older or
 * other version of a service beside the running one (`mercato build --label v1 --from <ref>`):
 * `git archive` of the commit into `<data dir>/sources/<commit>`, kept there because a bundle reads
 * files beside its sources at run time (its migrations). Its `node_modules` is a farm of links: the
 * `@mercato/*` packages point at the commit's own packages (so the service is built with the
 * chassis and contracts of that commit, as it was released), everything else at this checkout's
 * installed dependencies. A dependency the commit's packages declare and this checkout no longer
 * installs (one dropped since) is installed for it alone, at the version the commit's lockfile
 * locked, into `<tree>/.dependencies`, and linked in beside the others.
 *
 * By hand rather than `git worktree` + `npm ci`: a worktree is registered in the repository (and
 * left behind by an interrupted build), and installing everything takes half a minute and the
 * network; only what is missing is installed (npm's cache first).
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
  if (await exists(path.join(root, 'node_modules')))
    return { root, commit, installed: await readInstalled(root) };
  const temporary = path.join(sources, `.${commit}.${process.pid}`);
  await rm(temporary, { recursive: true, force: true });
  await mkdir(temporary, { recursive: true });
  try {
    await extract(repositoryRoot, commit, temporary);
    await linkDependencies(repositoryRoot, temporary);
    await installMissing(repositoryRoot, temporary);
    await rm(root, { recursive: true, force: true });
    await rename(temporary, root);
  } catch (error) {
    await rm(temporary, { recursive: true, force: true });
    throw error;
  }
  return { root, commit, installed: await readInstalled(root) };
}

/** Where the packages the commit lacked here are installed, and the list of them. */
const DEPENDENCIES = '.dependencies';
const INSTALLED_LIST = 'installed.json';

const readInstalled = async (root: string): Promise<string[]> =>
  JSON.parse(
    await readFile(path.join(root, DEPENDENCIES, INSTALLED_LIST), 'utf8').catch(() => '[]'),
  ) as string[];

interface Manifest {
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
}

/**
 * The dependencies the commit's packages (the root and every workspace) declare that this checkout
 * does not install, at the version the commit's lockfile has for them (else the declared range),
 * installed with npm into `<tree>/.dependencies` and linked into the tree's `node_modules`. Their
 * own dependencies resolve from where they are installed.
 */
async function installMissing(repositoryRoot: string, tree: string): Promise<void> {
  const locked =
    (
      JSON.parse(await readFile(path.join(tree, 'package-lock.json'), 'utf8').catch(() => '{}')) as {
        packages?: Record<string, { version?: string }>;
      }
    ).packages ?? {};
  const manifests = [tree, ...(await workspaces(tree)).values()];
  const wanted = new Map<string, string>();
  for (const directory of manifests) {
    const manifest = JSON.parse(await readFile(path.join(directory, 'package.json'), 'utf8')) as Manifest;
    for (const [name, range] of Object.entries({ ...manifest.devDependencies, ...manifest.dependencies })) {
      if (name.startsWith('@mercato/') || wanted.has(name)) continue;
      if (await exists(path.join(repositoryRoot, 'node_modules', name, 'package.json'))) continue;
      wanted.set(name, locked[`node_modules/${name}`]?.version ?? range);
    }
  }
  if (wanted.size === 0) return;
  const scratch = path.join(tree, DEPENDENCIES);
  await mkdir(scratch, { recursive: true });
  await writeFile(
    path.join(scratch, 'package.json'),
    JSON.stringify({ name: 'mercato-commit-dependencies', private: true }),
  );
  const specs = [...wanted].map(([name, version]) => `${name}@${version}`);
  await run(
    'npm',
    [
      'install',
      '--prefer-offline',
      '--ignore-scripts',
      '--no-package-lock',
      '--no-audit',
      '--no-fund',
      '--loglevel=error',
      ...specs,
    ],
    { cwd: scratch, maxBuffer: 16 * 1024 * 1024 },
  ).catch((error: { stderr?: string; message: string }) => {
    throw new VersionError(
      `--from: could not install what the commit uses and this checkout lacks (${specs.join(', ')}): ${(error.stderr ?? error.message).trim().split('\n').slice(-3).join(' ')}`,
    );
  });
  for (const name of wanted.keys()) {
    const link = path.join(tree, 'node_modules', name);
    if (name.startsWith('@')) await ownScopeFolder(path.dirname(link));
    await rm(link, { force: true });
    await symlink(path.relative(path.dirname(link), path.join(scratch, 'node_modules', name)), link);
  }
  await writeFile(path.join(scratch, INSTALLED_LIST), JSON.stringify(specs));
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

/**
 * A scope's folder in the tree's `node_modules` as a folder of its own: linked whole to this
 * checkout's, a package added to it would land in the checkout. Its entries stay links.
 */
async function ownScopeFolder(folder: string): Promise<void> {
  const linked = await readlink(folder).catch(() => undefined);
  if (linked === undefined) {
    await mkdir(folder, { recursive: true });
    return;
  }
  const target = path.resolve(path.dirname(folder), linked);
  await rm(folder);
  await mkdir(folder);
  for (const entry of await readdir(target))
    await symlink(path.join(target, entry), path.join(folder, entry));
}

const exists = (file: string) =>
  access(file).then(
    () => true,
    () => false,
  );
