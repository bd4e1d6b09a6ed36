import { createHash } from 'node:crypto';
import { mkdir, readdir, readFile, rename, rm, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { type BuildTarget, buildTarget } from './service-build.ts';

/**
 * A version of a service: a build kept beside the running one under
 * `<data dir>/releases/<service>/<label>/`, so a release can start it while the old one serves.
 * It is named by its label (`v2`) and identified by its bundle's content hash.
 */
export interface ServiceVersion {
  service: string;
  label: string;
  /** The first 12 hex digits of the SHA-256 of its `main.cjs`. */
  hash: string;
  /** Absolute path of the launcher the process is started with (its bundles sit beside it). */
  launcher: string;
  built_at: string;
  /** Environment its processes start with: only a bad version's injected faults (`--fault`). */
  env: Record<string, string>;
  /** The commit it was built from (`--from`); absent: the working tree. */
  commit?: string;
}

/**
 * `error-percent=30,latency-ms=200` (`mercato build --label bad --fault …`): a version that fails
 * that share of its gRPC calls and adds that latency, to show and test a canary's rollback.
 */
export function parseFaults(text: string): Record<string, string> {
  const env: Record<string, string> = {};
  const limits = {
    'error-percent': ['MERCATO_FAULT_ERROR_PERCENT', 100],
    'latency-ms': ['MERCATO_FAULT_LATENCY_MS', 60_000],
  } as const;
  for (const part of text.split(',').map((item) => item.trim())) {
    const match = /^(error-percent|latency-ms)=(\d{1,5})$/.exec(part);
    const limit = match ? limits[match[1] as keyof typeof limits] : undefined;
    if (!match || !limit || Number(match[2]) > limit[1])
      throw new VersionError(
        `--fault: expected error-percent=<0–100> and/or latency-ms=<0–60000>, comma-separated; got "${part}"`,
      );
    env[limit[0]] = String(Number(match[2]));
  }
  return env;
}

/** Lower-case letters, digits, dots and dashes, starting with a letter or digit: a folder and a metric label. */
const LABEL = /^[a-z0-9][a-z0-9.-]{0,31}$/;

export class VersionError extends Error {
  override name = 'VersionError';
}

export function checkLabel(label: string): string {
  if (!LABEL.test(label) || label === 'current')
    throw new VersionError(
      `"${label}" is not a version label: 1–32 lower-case letters, digits, dots or dashes, starting with a letter or digit (and not "current")`,
    );
  return label;
}

export const releasesDirectory = (dataDir: string, service: string) =>
  path.join(dataDir, 'releases', service);

const VERSION_RECORD = 'version.json';

export async function contentHash(bundle: string): Promise<string> {
  return createHash('sha256')
    .update(await readFile(bundle))
    .digest('hex')
    .slice(0, 12);
}

/**
 * Builds `target` as version `label`: into a temporary folder renamed into place when complete,
 * so a release never starts a half-written build, and a build of an existing label replaces it.
 */
export async function buildVersion(
  target: BuildTarget,
  label: string,
  dataDir: string,
  repositoryRoot: string,
  env: Record<string, string> = {},
  commit?: string,
): Promise<ServiceVersion> {
  checkLabel(label);
  const directory = releasesDirectory(dataDir, target.name);
  const final = path.join(directory, label);
  const temporary = path.join(directory, `.${label}.${process.pid}`);
  await mkdir(directory, { recursive: true });
  await rm(temporary, { recursive: true, force: true });
  await buildTarget({ ...target, outdir: temporary }, repositoryRoot);
  // The packages its bundles leave out (finish-bundle.ts), found as from the repository's own build:
  // `require` would find them through NODE_PATH (the supervisor sets it), but `import()` reads only
  // node_modules folders above the importing file (a version from an earlier commit, which loads
  // node-pg-migrate by import(), could not start outside the repository).
  await symlink(path.join(repositoryRoot, 'node_modules'), path.join(temporary, 'node_modules'));
  const version: ServiceVersion = {
    service: target.name,
    label,
    hash: await contentHash(path.join(temporary, 'main.cjs')),
    launcher: path.join(final, 'launch.cjs'),
    built_at: new Date().toISOString(),
    env,
    ...(commit ? { commit } : {}),
  };
  await writeFile(path.join(temporary, VERSION_RECORD), `${JSON.stringify(version, null, 2)}\n`);
  await rm(final, { recursive: true, force: true });
  await rename(temporary, final);
  return version;
}

/** The versions of `service` built so far, by label. */
export async function listVersions(dataDir: string, service: string): Promise<string[]> {
  const entries = await readdir(releasesDirectory(dataDir, service), { withFileTypes: true }).catch(() => []);
  return entries
    .filter((entry) => entry.isDirectory() && !entry.name.startsWith('.'))
    .map((entry) => entry.name)
    .sort();
}

/** Version `label` of `service`, or a VersionError that names the versions there are. */
export async function readVersion(dataDir: string, service: string, label: string): Promise<ServiceVersion> {
  checkLabel(label);
  const file = path.join(releasesDirectory(dataDir, service), label, VERSION_RECORD);
  const text = await readFile(file, 'utf8').catch(() => undefined);
  if (text === undefined) {
    const built = await listVersions(dataDir, service);
    throw new VersionError(
      `${service} has no version "${label}" (built: ${built.length > 0 ? built.join(', ') : 'none'}); build it with mercato build --label ${label} ${service}`,
    );
  }
  const recorded = JSON.parse(text) as Partial<ServiceVersion>;
  return {
    ...(recorded as ServiceVersion),
    env: recorded.env ?? {},
    launcher: path.join(path.dirname(file), 'launch.cjs'),
  };
}
