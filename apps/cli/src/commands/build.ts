import path from 'node:path';
import { BuildError, buildTarget } from '../build/service-build.ts';
import { buildWebIfStale } from '../build/web-build.ts';
import { repositoryRoot, type ServiceSpec } from '../services.ts';

/** `mercato build`: builds every service from scratch (what `npm start` does only for stale ones). */
export async function buildCommand(specs: readonly ServiceSpec[]): Promise<number> {
  const began = performance.now();
  try {
    await Promise.all(
      specs.map((spec) =>
        buildTarget(
          { name: spec.name, directory: path.join(repositoryRoot, spec.directory) },
          repositoryRoot,
        ),
      ),
    );
    // The web app after the services (its API types come from the gateway's routes), when stale:
    // the e2e, chaos and browser suites each build first, and only the first needs to build it.
    await buildWebIfStale(repositoryRoot);
  } catch (error) {
    process.stderr.write(`mercato: ${error instanceof BuildError ? error.message : String(error)}\n`);
    return 1;
  }
  const ms = Math.round(performance.now() - began);
  process.stdout.write(`built ${specs.map((spec) => spec.name).join(', ')} and web in ${ms} ms\n`);
  return 0;
}
