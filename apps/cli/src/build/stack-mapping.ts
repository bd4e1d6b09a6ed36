import { readFileSync } from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';

/**
 * Stack frames in the given bundles named by their TypeScript line, from each bundle's source map
 * (`<bundle>.map`, our own sources only: finish-bundle.ts), read on the first stack trace that
 * needs it. For bundles compiled by `vm` (launch.ts), which `--enable-source-maps` does not map on
 * Node 20. A frame in a library's code (no mapping on its line) keeps the bundle's line: the
 * nearest earlier mapping would name a file of ours that has nothing to do with it.
 * Written by hand because Node has the map parser (`module.SourceMap`) but no hook to register a
 * map for a `vm` script; a stack-trace library would parse every map at start, which is what
 * this is here to avoid.
 */
export function mapStackFrames(bundles: readonly string[]): void {
  const maps = new Map<string, SourceMap | null>();
  const mapOf = (file: string): SourceMap | null => {
    let map = maps.get(file);
    if (map === undefined) {
      try {
        map = new SourceMap(JSON.parse(readFileSync(`${file}.map`, 'utf8')));
      } catch {
        map = null;
      }
      maps.set(file, map);
    }
    return map;
  };
  const bundled = new Set(bundles);
  const frame = (site: NodeJS.CallSite): string => {
    const text = site.toString();
    const file = site.getFileName();
    const line = site.getLineNumber();
    const column = site.getColumnNumber();
    if (!file || !bundled.has(file) || line === null || column === null) return text;
    const entry = mapOf(file)?.findEntry(line - 1, column - 1);
    // A segment with a column alone (where a library's code follows ours on a line) is an entry
    // whose `originalSource` is there but undefined.
    if (!entry || !('originalSource' in entry) || typeof entry.originalSource !== 'string') return text;
    if (entry.generatedLine !== line - 1) return text;
    const original = `${path.resolve(path.dirname(file), entry.originalSource)}:${entry.originalLine + 1}:${entry.originalColumn + 1}`;
    return text.replace(`${file}:${line}:${column}`, original);
  };
  // Formatting a stack must never throw: an error there replaces the error being reported (and,
  // while a process stops, made close-with-grace exit 1). A frame that cannot be mapped is kept.
  const safeFrame = (site: NodeJS.CallSite): string => {
    try {
      return frame(site);
    } catch {
      return site.toString();
    }
  };
  Error.prepareStackTrace = (error: Error, sites: NodeJS.CallSite[]): string =>
    [Error.prototype.toString.call(error), ...sites.map((site) => `    at ${safeFrame(site)}`)].join('\n');
}
