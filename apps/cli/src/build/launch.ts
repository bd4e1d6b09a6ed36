/**
 * How a built service starts: `node dist/launch.cjs` runs `preload.cjs` (tracing) and then
 * `main.cjs` from the same folder, from V8's code cache when there is one. Compiling the two bundles
 * was the largest single item of a service's start (a third of its CPU); with the cache V8 skips
 * the parse and the lazy compiles of every function the last start ran.
 *
 * On Node 22+ this is `module.enableCompileCache()` (a cache folder per user, kept by Node). Node 20
 * has no compile cache, so there each bundle is compiled as a `vm.Script` with the `cachedData` of
 * the last run, and a few seconds after start (once start-up's functions are compiled) the cache is
 * written beside the bundle, keyed by the bundle's size and time, for the next start. A bundle
 * compiled by `vm` gets no `--enable-source-maps` mapping on Node 20, so stack frames of our own
 * code are mapped here, on the first stack trace rather than at every start (stack-mapping.ts).
 */
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import Module from 'node:module';
import path from 'node:path';
import vm from 'node:vm';
import { mapStackFrames } from './stack-mapping.ts';

/** The exit code of a configuration error: the supervisor reports it and does not restart. */
const EXIT_CONFIG = 78;
function invalid(message: string): never {
  console.error(`${process.env.MERCATO_SERVICE ?? 'service'}: failed to start: ${message}`);
  process.exit(EXIT_CONFIG);
}

const codeCache = process.env.MERCATO_CODE_CACHE ?? 'on';
if (codeCache !== 'on' && codeCache !== 'off')
  invalid(`MERCATO_CODE_CACHE must be "on" or "off", not "${codeCache}"`);
const disabled = codeCache === 'off';
/** How long after a bundle ran its cache is written: start-up's lazy compiles included. */
const CACHE_AFTER_MS = Number(process.env.MERCATO_CODE_CACHE_AFTER_MS ?? 5_000);
if (!Number.isInteger(CACHE_AFTER_MS) || CACHE_AFTER_MS < 0)
  invalid(
    `MERCATO_CODE_CACHE_AFTER_MS must be a whole number of milliseconds, not "${process.env.MERCATO_CODE_CACHE_AFTER_MS}"`,
  );

const here = __dirname;
const bundles = [path.join(here, 'preload.cjs'), path.join(here, 'main.cjs')];

interface NodeModuleWithCache {
  enableCompileCache?: (directory?: string) => unknown;
}

/** The key a cache is valid for: the bundle as built, and the V8 that compiled it. */
const cacheKey = (file: string): string => {
  const info = statSync(file);
  return `${info.size}:${info.mtimeMs}:${process.version}:${process.arch}\n`;
};

function readCache(cacheFile: string, key: string): Buffer | undefined {
  try {
    const content = readFileSync(cacheFile);
    const header = Buffer.byteLength(key);
    return content.subarray(0, header).toString() === key ? content.subarray(header) : undefined;
  } catch {
    return undefined;
  }
}

function writeCache(script: vm.Script, cacheFile: string, key: string): void {
  try {
    const temporary = `${cacheFile}.${process.pid}`;
    writeFileSync(temporary, Buffer.concat([Buffer.from(key), script.createCachedData()]));
    // Several instances of one service may write at once: each rename is whole.
    renameSync(temporary, cacheFile);
  } catch {
    // A read-only folder: start without a cache next time too.
  }
}

/** Runs one CommonJS bundle as Node's loader would, compiled from (and for) the code cache. */
function runCached(file: string): void {
  const cacheFile = `${file}.v8cache`;
  const key = cacheKey(file);
  const cachedData = readCache(cacheFile, key);
  // The wrapper on a line of its own, so stack frames keep the bundle's own lines and columns.
  const [head, tail] = (Module as unknown as { wrapper: [string, string] }).wrapper;
  const script = new vm.Script(`${head}\n${readFileSync(file, 'utf8')}${tail}`, {
    filename: file,
    lineOffset: -1,
    ...(cachedData ? { cachedData } : {}),
  });
  if (!cachedData || script.cachedDataRejected)
    setTimeout(() => writeCache(script, cacheFile, key), CACHE_AFTER_MS).unref();
  // The bundle's `require` resolves from its own folder, as Node's loader would give it.
  const bundleRequire = Module.createRequire(file);
  const module = { exports: {}, filename: file, id: file, loaded: false };
  const wrapper = script.runInThisContext() as (...args: unknown[]) => void;
  wrapper.call(module.exports, module.exports, bundleRequire, module, file, here);
  module.loaded = true;
}

const nodeModule = Module as unknown as NodeModuleWithCache;
// The bundles' import() of a package left out of them comes here (finish-bundle.ts): compiled by
// Node's own loader, this one resolves from the bundles' folder on every Node.
(globalThis as Record<symbol, unknown>)[Symbol.for('mercato.import')] = (specifier: string) =>
  import(specifier);
if (disabled) {
  process.setSourceMapsEnabled(true);
  for (const bundle of bundles) require(bundle);
} else if (typeof nodeModule.enableCompileCache === 'function') {
  nodeModule.enableCompileCache();
  process.setSourceMapsEnabled(true);
  for (const bundle of bundles) require(bundle);
} else {
  mapStackFrames(bundles);
  for (const bundle of bundles) runCached(bundle);
}
