import { randomBytes } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import * as esbuild from 'esbuild';
import { bundleOptions } from './bundle-options.ts';
import { finishBundle } from './finish-bundle.ts';

/** A program the supervisor runs: its package folder holds `src/main.ts`; the build goes to `dist/`. */
export interface BuildTarget {
  name: string;
  /** Absolute path of the package folder. */
  directory: string;
  /** Where the build goes; `<directory>/dist` unless given. */
  outdir?: string;
}

const outdirOf = (target: BuildTarget) => target.outdir ?? path.join(target.directory, 'dist');

export interface BuildResult {
  name: string;
  built: boolean;
  ms: number;
}

/**
 * What a built service is started with, relative to its package folder: the launcher runs the
 * preload (tracing) and the service's bundle from V8's code cache (launch.ts). A version built
 * with a label (versions.ts) has its launcher elsewhere. `semiSpaceMb` and `v8PoolSize` of 0 leave
 * V8's and Node's defaults.
 */
export const builtCommand = (
  { semiSpaceMb = 0, v8PoolSize = 0 }: { semiSpaceMb?: number; v8PoolSize?: number } = {},
  launcher = 'dist/launch.cjs',
): string[] => [
  ...(semiSpaceMb > 0 ? [`--max-semi-space-size=${semiSpaceMb}`] : []),
  ...(v8PoolSize > 0 ? [`--v8-pool-size=${v8PoolSize}`] : []),
  launcher,
];

/**
 * The environment that fixes glibc's mmap threshold in a service process (`MALLOC_MMAP_THRESHOLD_`,
 * mallopt(3)), unless `threshold` is 0 or the supervisor's own environment already sets it. With
 * the threshold glibc adjusts by itself, freeing one large block raises it to that block's size and
 * the trim threshold to twice that, and an arena's free memory below that is never given back: V8's
 * helper thread kept 12–14 MB so in a few services; fixed, idle RSS fell from a mean of 84–89 MB to
 * 80 (bench/README.md), CPU per order unchanged.
 */
export const mallocEnvironment = (threshold: number, inherited: NodeJS.ProcessEnv): Record<string, string> =>
  threshold > 0 && inherited.MALLOC_MMAP_THRESHOLD_ === undefined
    ? { MALLOC_MMAP_THRESHOLD_: String(threshold) }
    : {};

/** What a service is started with from its TypeScript (tsx compiles it in the process). */
export const sourceCommand = (): string[] => [
  '--import',
  'tsx',
  '--import',
  '@mercato/chassis/register',
  'src/main.ts',
];

const BUILD_RECORD = 'build.json';

interface BuildRecord {
  /** Every file the bundle was made from, relative to the repository root. */
  inputs: string[];
}

export class BuildError extends Error {
  override name = 'BuildError';
}

const mtime = (file: string) =>
  stat(file).then(
    (info) => info.mtimeMs,
    () => undefined,
  );

function entryPoints(target: BuildTarget, repositoryRoot: string): Record<string, string> {
  return {
    main: path.join(target.directory, 'src', 'main.ts'),
    preload: path.join(repositoryRoot, 'packages', 'chassis', 'src', 'telemetry', 'preload.ts'),
    launch: path.join(repositoryRoot, 'apps', 'cli', 'src', 'build', 'launch.ts'),
  };
}

/** Whether any file the last build read (or the lockfile) changed since, or there is no build. */
export async function isStale(target: BuildTarget, repositoryRoot: string): Promise<boolean> {
  const recordFile = path.join(outdirOf(target), BUILD_RECORD);
  const builtAt = await mtime(recordFile);
  if (builtAt === undefined || (await mtime(path.join(outdirOf(target), 'main.cjs'))) === undefined)
    return true;
  const record = JSON.parse(await readFile(recordFile, 'utf8')) as BuildRecord;
  const sources = [...record.inputs, 'package-lock.json'].map((input) => path.join(repositoryRoot, input));
  const times = await Promise.all(sources.map(mtime));
  return times.some((time) => time === undefined || time > builtAt);
}

function recordOf(result: esbuild.BuildResult, repositoryRoot: string): BuildRecord {
  // esbuild names inputs relative to its working directory.
  const inputs = Object.keys(result.metafile?.inputs ?? {}).map((input) =>
    path.relative(repositoryRoot, path.resolve(input)),
  );
  return { inputs };
}

/** Packages the bundle loads by a dynamic `import()` (finish-bundle.ts rewrites those calls). */
const dynamicExternals = (result: esbuild.BuildResult): string[] => [
  ...new Set(
    Object.values(result.metafile?.outputs ?? {}).flatMap((output) =>
      output.imports
        .filter((entry) => entry.kind === 'dynamic-import' && entry.external)
        .map((entry) => entry.path),
    ),
  ),
];

/** After each build: both bundles made ASCII and their maps trimmed to our sources, then the record. */
async function finishBuild(
  target: BuildTarget,
  result: esbuild.BuildResult,
  repositoryRoot: string,
): Promise<void> {
  const imports = dynamicExternals(result);
  await Promise.all(
    ['main.cjs', 'preload.cjs'].map((bundle) => {
      const file = path.join(outdirOf(target), bundle);
      return finishBundle(file, `${file}.map`, imports);
    }),
  );
  await writeFile(
    path.join(outdirOf(target), BUILD_RECORD),
    `${JSON.stringify(recordOf(result, repositoryRoot))}\n`,
  );
}

const describeFailure = (name: string, error: unknown): BuildError => {
  const errors = (error as { errors?: esbuild.Message[] }).errors ?? [];
  const first = errors[0];
  const where = first?.location ? `${first.location.file}:${first.location.line}: ` : '';
  return new BuildError(
    `${name} does not build: ${where}${first?.text ?? (error instanceof Error ? error.message : String(error))}`,
  );
};

/**
 * Builds one target, whether stale or not: into a folder of its own, then each file renamed into
 * place and the build record last, so two builds at once (two suites starting side by side) each
 * leave whole files, and a record never vouches for a bundle still being written.
 */
export async function buildTarget(target: BuildTarget, repositoryRoot: string): Promise<void> {
  const outdir = outdirOf(target);
  const staging = `${outdir}.${process.pid}.${randomBytes(4).toString('hex')}`;
  await mkdir(outdir, { recursive: true });
  try {
    const options = bundleOptions(entryPoints(target, repositoryRoot), staging);
    let result: esbuild.BuildResult;
    try {
      result = await esbuild.build({ ...options, absWorkingDir: repositoryRoot });
    } catch (error) {
      throw describeFailure(target.name, error);
    }
    await finishBuild({ ...target, outdir: staging }, result, repositoryRoot);
    const files = (await readdir(staging)).filter((file) => file !== BUILD_RECORD);
    for (const file of [...files, BUILD_RECORD])
      await rename(path.join(staging, file), path.join(outdir, file));
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** Builds, side by side, the targets whose sources changed since their last build. */
export async function buildStale(
  targets: readonly BuildTarget[],
  repositoryRoot: string,
): Promise<BuildResult[]> {
  return Promise.all(
    targets.map(async (target) => {
      const began = performance.now();
      const stale = await isStale(target, repositoryRoot);
      if (stale) await buildTarget(target, repositoryRoot);
      return { name: target.name, built: stale, ms: Math.round(performance.now() - began) };
    }),
  );
}

export interface Watcher {
  /** The first build, which the service starts from; rejects if it does not build. */
  firstBuild: Promise<void>;
  stop: () => Promise<void>;
}

/**
 * Builds a target and rebuilds it whenever one of its files changes (esbuild's watch mode),
 * calling `onBuilt` after each successful rebuild, or `onFailed` with the first error.
 */
export async function watchTarget(
  target: BuildTarget,
  repositoryRoot: string,
  handlers: { onBuilt: () => void; onFailed: (error: BuildError) => void },
): Promise<Watcher> {
  await mkdir(outdirOf(target), { recursive: true });
  const options = bundleOptions(entryPoints(target, repositoryRoot), outdirOf(target));
  let settleFirst: { resolve: () => void; reject: (error: BuildError) => void } | undefined;
  const firstBuild = new Promise<void>((resolve, reject) => {
    settleFirst = { resolve, reject };
  });
  // Observed by whoever starts the service; this keeps a failure that nobody awaits any more quiet.
  firstBuild.catch(() => undefined);
  const context = await esbuild.context({
    ...options,
    absWorkingDir: repositoryRoot,
    plugins: [
      ...(options.plugins ?? []),
      {
        name: 'rebuilt',
        setup(build) {
          build.onEnd(async (result) => {
            const first = settleFirst;
            settleFirst = undefined;
            if (result.errors.length > 0) {
              const error = describeFailure(target.name, result);
              if (first) first.reject(error);
              else handlers.onFailed(error);
              return;
            }
            await finishBuild(target, result, repositoryRoot);
            if (first) first.resolve();
            else handlers.onBuilt();
          });
        },
      },
    ],
  });
  await context.watch();
  return { firstBuild, stop: () => context.dispose() };
}
