import path from 'node:path';
import { BuildError, buildStale, buildTarget } from '../build/service-build.ts';
import { buildWebIfStale } from '../build/web-build.ts';
import { repositoryRoot, type ServiceSpec } from '../services.ts';

/**
 * `mercato build`: builds every service from scratch. `mercato build --stale` builds only the
 * services whose sources changed since their last build, as `npm start` does (the test suites'
 * setups use it: the first suite of a run builds, the next ones find every bundle fresh).
 */
export async function buildCommand(specs: readonly ServiceSpec[], args: readonly string[]): Promise<number> {
  const unknown = args.filter((arg) => arg !== '--stale');
  if (unknown.length > 0) {
    process.stderr.write(
      `mercato build: unknown argument ${unknown.join(' ')} (expected nothing or --stale)\n`,
    );
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
