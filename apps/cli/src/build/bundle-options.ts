import type { BuildOptions } from 'esbuild';
import { externalPackages, ownLocations } from './bundle-parts.mjs';

/**
 * One Node program as a CommonJS bundle with source maps: our TypeScript and most libraries in one
 * file (loaded in a fraction of the time of thousands of modules compiled at start), the packages
 * of `externalPackages` (bundle-parts.mjs) loaded by `require`.
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
