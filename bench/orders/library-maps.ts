/**
 * Where a profiled bundle's code came from, library code included. A built bundle's own map keeps
 * only our sources (finish-bundle.ts: Node parses the whole map at start, ~15 MB a process), so a
 * profile summarised from it lumps pg, zod, OpenTelemetry and the rest into "the bundle". When
 * profiling, the bench builds each profiled bundle once more with the build's own options and keeps
 * the whole map, outside the build (nothing the platform runs changes). finish-bundle's edits move
 * a column here and there (an escaped non-ASCII character, a rewritten `import(`): a frame at the
 * edge of a module may be told as its neighbour's; whole packages are not.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { decode, type SourceMapSegment } from '@jridgewell/sourcemap-codec';
import * as esbuild from 'esbuild';
import { bundleOptions } from '../../apps/cli/src/build/bundle-options.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));

/** A bundle's frame (0-based line and column, as V8's profiles give them) → its source file, if known. */
export type SourceLocator = (url: string, line: number, column: number) => string | undefined;

interface DecodedMap {
  sources: string[];
  lines: SourceMapSegment[][];
}

/** `<root>/<dir>/dist/<bundle>.cjs` → `<dir>`, for the bundles `mercato build` makes. */
const builtDirOf = (file: string): string | undefined => {
  const match = /^(.*)\/dist\/(main|preload)\.cjs$/.exec(path.relative(root, file));
  return match?.[1];
};

/** The source of one position of a decoded map (the last segment at or before the column). */
function sourceAt(map: DecodedMap, line: number, column: number): string | undefined {
  const segments = map.lines[line];
  if (!segments || segments.length === 0) return undefined;
  let low = 0;
  let high = segments.length - 1;
  let found = 0;
  while (low <= high) {
    const middle = (low + high) >> 1;
    if ((segments[middle]?.[0] ?? 0) <= column) {
      found = middle;
      low = middle + 1;
    } else high = middle - 1;
  }
  const segment = segments[found];
  return segment && segment.length > 1 ? map.sources[segment[1] ?? -1] : undefined;
}

/**
 * Builds the bundles of every service among `bundleUrls` again into `outDir` with whole maps, and
 * returns a locator over them. A bundle it cannot build is left untold (the locator returns
 * undefined for it, and the summary names the bundle as before).
 */
export async function libraryMaps(bundleUrls: Iterable<string>, outDir: string): Promise<SourceLocator> {
  const dirs = new Set<string>();
  for (const url of bundleUrls) {
    const dir = url.startsWith('file://') ? builtDirOf(fileURLToPath(url)) : undefined;
    if (dir) dirs.add(dir);
  }
  const maps = new Map<string, DecodedMap>();
  await Promise.all(
    [...dirs].map(async (dir) => {
      const out = path.join(outDir, dir);
      const entryPoints = {
        main: path.join(root, dir, 'src', 'main.ts'),
        preload: path.join(root, 'packages', 'chassis', 'src', 'telemetry', 'preload.ts'),
      };
      try {
        await esbuild.build({ ...bundleOptions(entryPoints, out), absWorkingDir: root });
      } catch {
        return;
      }
      for (const bundle of ['main', 'preload']) {
        const raw = JSON.parse(readFileSync(path.join(out, `${bundle}.cjs.map`), 'utf8')) as {
          sources: string[];
          mappings: string;
        };
        maps.set(path.join(root, dir, 'dist', `${bundle}.cjs`), {
          sources: raw.sources.map((source) => path.resolve(out, source)),
          lines: decode(raw.mappings),
        });
      }
    }),
  );
  return (url, line, column) => {
    if (!url.startsWith('file://')) return undefined;
    const map = maps.get(fileURLToPath(url));
    return map ? sourceAt(map, line, column) : undefined;
  };
}
