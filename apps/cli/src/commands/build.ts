import path from 'node:path';
import { BuildError, buildStale, buildTarget } from '../build/service-build.ts';
import { sourceAtCommit } from '../build/source-at-commit.ts';
import { buildVersion, parseFaults, VersionError } from '../build/versions.ts';
import { buildWebIfStale } from '../build/web-build.ts';
import { repositoryRoot, type ServiceSpec } from '../services.ts';

const USAGE =
  'expected nothing, --stale, or --label <label> [--from <git revision>] [--fault error-percent=N,latency-ms=N] [service…]';

/**
 * `mercato build`: builds every service from scratch. `mercato build --stale` builds only the
 * services whose sources changed since their last build, as `npm start` does (the test suites'
 * setups use it: the first suite of a run builds, the next ones find every bundle fresh).
 * `mercato build --label v2 [catalog order]` builds a version beside the running one, under
 * `<data dir>/releases/<service>/v2`, for `mercato release … --to v2`; `--from <revision>` builds it
 * from that commit's sources instead of the working tree (an older release, another branch).
 */
export async function buildCommand(
  specs: readonly ServiceSpec[],
  args: readonly string[],
  dataDir: string,
): Promise<number> {
  const labelAt = args.indexOf('--label');
  if (labelAt >= 0) return buildLabelled(specs, args, labelAt, dataDir);
  const unknown = args.filter((arg) => arg !== '--stale');
  if (unknown.length > 0) {
    process.stderr.write(`mercato build: unknown argument ${unknown.join(' ')} (${USAGE})\n`);
    return 64;
  }
  const staleOnly = args.includes('--stale');
  const began = performance.now();
  const targets = specs.map((spec) => ({
    name: spec.name,
    directory: path.join(repositoryRoot, spec.directory),
  }));
  let built = targets.map((target) => target.name);
  try {
    if (staleOnly)
      built = (await buildStale(targets, repositoryRoot)).filter((r) => r.built).map((r) => r.name);
    else await Promise.all(targets.map((target) => buildTarget(target, repositoryRoot)));
    // The web app after the services (its API types come from the gateway's routes), when stale:
    // the e2e, chaos and browser suites each build first, and only the first needs to build it.
    await buildWebIfStale(repositoryRoot);
  } catch (error) {
    process.stderr.write(`mercato: ${error instanceof BuildError ? error.message : String(error)}\n`);
    return 1;
  }
  const ms = Math.round(performance.now() - began);
  process.stdout.write(
    built.length === 0
      ? `every service was fresh; checked in ${ms} ms\n`
      : `built ${built.join(', ')} (and web, if stale) in ${ms} ms\n`,
  );
  return 0;
}

async function buildLabelled(
  specs: readonly ServiceSpec[],
  args: readonly string[],
  labelAt: number,
  dataDir: string,
): Promise<number> {
  const label = args[labelAt + 1];
  const faultAt = args.indexOf('--fault');
  const faultText = faultAt >= 0 ? args[faultAt + 1] : undefined;
  const fromAt = args.indexOf('--from');
  const from = fromAt >= 0 ? args[fromAt + 1] : undefined;
  const flagged = new Set([labelAt, faultAt, fromAt].filter((at) => at >= 0).flatMap((at) => [at, at + 1]));
  const names = args.filter((_, index) => !flagged.has(index));
  for (const [at, value, flag] of [
    [faultAt, faultText, '--fault'],
    [fromAt, from, '--from'],
  ] as const)
    if (at >= 0 && (!value || value.startsWith('--'))) {
      process.stderr.write(`mercato build: ${flag} needs a value (${USAGE})\n`);
      return 64;
    }
  if (!label || label.startsWith('--') || names.some((name) => name.startsWith('--'))) {
    process.stderr.write(`mercato build: ${USAGE}\n`);
    return 64;
  }
  const unknown = names.filter((name) => !specs.some((spec) => spec.name === name));
  if (unknown.length > 0) {
    process.stderr.write(
      `mercato build: unknown service ${unknown.join(', ')} (services: ${specs.map((spec) => spec.name).join(', ')})\n`,
    );
    return 64;
  }
  const chosen = names.length > 0 ? specs.filter((spec) => names.includes(spec.name)) : specs;
  const began = performance.now();
  try {
    const env = faultText ? parseFaults(faultText) : {};
    const source = from ? await sourceAtCommit(from, repositoryRoot, dataDir) : undefined;
    const root = source?.root ?? repositoryRoot;
    const versions = await Promise.all(
      chosen.map((spec) =>
        buildVersion(
          { name: spec.name, directory: path.join(root, spec.directory) },
          label,
          dataDir,
          root,
          env,
          source?.commit,
        ),
      ),
    );
    const ms = Math.round(performance.now() - began);
    for (const version of versions)
      process.stdout.write(
        `${version.service} ${version.label} (${version.hash}) ${version.launcher}${version.commit ? ` from ${version.commit.slice(0, 12)}` : ''}${Object.keys(version.env).length > 0 ? ` with ${JSON.stringify(version.env)}` : ''}\n`,
      );
    if (source && source.installed.length > 0)
      process.stdout.write(
        `installed for ${source.commit.slice(0, 12)} what it uses and this checkout lacks: ${source.installed.join(', ')}\n`,
      );
    process.stdout.write(`built version ${label} of ${versions.length} service(s) in ${ms} ms\n`);
    return 0;
  } catch (error) {
    if (error instanceof VersionError) {
      process.stderr.write(`mercato build: ${error.message}\n`);
      return 64;
    }
    process.stderr.write(`mercato: ${error instanceof BuildError ? error.message : String(error)}\n`);
    return 1;
  }
}
