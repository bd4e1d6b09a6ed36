import { readFile, writeFile } from 'node:fs/promises';
import { decode, encode, type SourceMapSegment } from '@jridgewell/sourcemap-codec';

interface SourceMapFile {
  sources: string[];
  mappings: string;
}

/**
 * Escapes every non-ASCII code unit of a line as `\uXXXX` (valid in strings, templates, regular
 * expressions and identifiers alike) and returns where each escape was, by column. One such
 * character anywhere makes V8 hold the whole bundle as a two-byte string: twice its size in every
 * process. esbuild's `charset: 'ascii'` leaves regular expression literals as they are.
 */
function asciiLine(line: string): { text: string; escapedAt: number[] } {
  const escapedAt: number[] = [];
  let text = '';
  for (let index = 0; index < line.length; index += 1) {
    const unit = line.charCodeAt(index);
    if (unit < 0x80) {
      text += line[index];
      continue;
    }
    escapedAt.push(index);
    text += `\\u${unit.toString(16).padStart(4, '0')}`;
  }
  return { text, escapedAt };
}

/** A column of the line before its escapes, after them (each adds five characters). */
const afterEscapes = (column: number, escapedAt: readonly number[]): number =>
  column + 5 * escapedAt.filter((escaped) => escaped < column).length;

/**
 * What a dynamic `import()` of a package left out of the bundle becomes: a call of the launcher's
 * loader when there is one (launch.ts), else `import()` as before. A bundle compiled from V8's code
 * cache by `vm` on Node 20 loses its `import()` callback in every function the cache holds compiled
 * ("A dynamic import callback was not specified"); the launcher's own `import()` has none of that.
 */
const importCall = '(globalThis[Symbol.for("mercato.import")]??(s=>import(s)))(';

/**
 * `import("<package>")` for each package named, as `importCall`; returns the line and, by column of
 * the line before, how many characters each replacement added.
 */
function replaceImports(
  line: string,
  packages: readonly string[],
): { text: string; added: Array<[number, number]> } {
  if (packages.length === 0 || !line.includes('import("')) return { text: line, added: [] };
  const names = packages.map((name) => name.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')).join('|');
  const added: Array<[number, number]> = [];
  const text = line.replace(
    new RegExp(`(?<![\\w$.])import\\((?="(?:${names})")`, 'g'),
    (match, at: number) => {
      added.push([at, importCall.length - match.length]);
      return importCall;
    },
  );
  return { text, added };
}

const afterReplacements = (column: number, added: ReadonlyArray<[number, number]>): number =>
  column + added.reduce((sum, [at, length]) => (at < column ? sum + length : sum), 0);

/**
 * The last step of a build, on the main bundle and its map: the bundle made ASCII-only (above), and
 * the map trimmed to our own sources. Node parses a bundle's whole map at start with
 * --enable-source-maps; mapping every library line too cost each process ~15 MB and 0.1 s for
 * stack frames that would name a library file either way. Written here because esbuild maps a
 * bundle all or nothing.
 */
export async function finishBundle(
  codeFile: string,
  mapFile: string,
  dynamicExternals: readonly string[] = [],
): Promise<void> {
  const [code, mapText] = await Promise.all([readFile(codeFile, 'utf8'), readFile(mapFile, 'utf8')]);
  const map = JSON.parse(mapText) as SourceMapFile;
  const own = map.sources.map((source) => !source.includes('node_modules/'));
  const lines = code.split('\n').map((line) => {
    const replaced = replaceImports(line, dynamicExternals);
    return { ...asciiLine(replaced.text), added: replaced.added };
  });
  const segments = decode(map.mappings).map((segments, index) => {
    const line = lines[index];
    const moved = (segment: SourceMapSegment): SourceMapSegment => {
      if (!line) return segment;
      const column = afterEscapes(afterReplacements(segment[0], line.added), line.escapedAt);
      return column === segment[0] ? segment : ([column, ...segment.slice(1)] as SourceMapSegment);
    };
    // A minified line holds several modules: where a library's code follows ours on it, a segment
    // with a column alone says "unmapped from here", or a frame in the library would be named by
    // the nearest earlier mapping, a line of ours that has nothing to do with it.
    const kept: SourceMapSegment[] = [];
    let inOwn = false;
    for (const segment of segments) {
      const isOwn = segment.length > 1 && own[segment[1] ?? -1] === true;
      if (isOwn) kept.push(moved(segment));
      else if (inOwn) kept.push(moved([segment[0]]));
      inOwn = isOwn;
    }
    return kept;
  });
  map.mappings = encode(segments);
  await Promise.all([
    writeFile(codeFile, lines.map((line) => line.text).join('\n')),
    writeFile(mapFile, JSON.stringify(map)),
  ]);
}
