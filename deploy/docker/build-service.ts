/**
 * Builds one service's bundles as `mercato build` does (apps/cli/src/build/service-build.ts): the
 * launcher, the tracing preload and the service in dist/; the gateway also gets the web app it serves.
 *   node --import tsx deploy/docker/build-service.ts <service> [<out dir>]
 * Used by the Dockerfile; an out dir other than the service's dist/ leaves the working tree alone.
 */
import path from 'node:path';
import { buildTarget } from '../../apps/cli/src/build/service-build.ts';
import { buildWeb } from '../../apps/cli/src/build/web-build.ts';
import { repositoryRoot, serviceCatalog } from '../../apps/cli/src/services.ts';

const [name, outdir] = process.argv.slice(2);
const spec = serviceCatalog.find((candidate) => candidate.name === name);
if (!spec) {
  process.stderr.write(
    `usage: build-service.ts <service> [<out dir>]; services: ${serviceCatalog.map((s) => s.name).join(', ')}\n`,
  );
  process.exit(64);
}
const began = performance.now();
await buildTarget(
  {
    name: spec.name,
    directory: path.join(repositoryRoot, spec.directory),
    ...(outdir ? { outdir: path.resolve(outdir) } : {}),
  },
  repositoryRoot,
);
if (spec.name === 'gateway') await buildWeb(repositoryRoot);
process.stdout.write(
  `built ${spec.name} (${spec.directory}) in ${Math.round(performance.now() - began)} ms\n`,
);
