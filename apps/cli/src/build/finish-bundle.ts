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

/** A segment's generated column after the escapes before it (each adds five characters). */
const shifted = (segment: SourceMapSegment, escapedAt: readonly number[]): SourceMapSegment => {
  const before = escapedAt.filter((column) => column < segment[0]).length;
  return before === 0 ? segment : ([segment[0] + 5 * before, ...segment.slice(1)] as SourceMapSegment);
};

/**
 * The last step of a build, on the main bundle and its map: the bundle made ASCII-only (above), and
 * the map trimmed to our own sources. Node parses a bundle's whole map at start with
 * --enable-source-maps; mapping every library line too cost each process ~15 MB and 0.1 s for
 * stack frames that would name a library file either way. Written here because esbuild maps a
 * bundle all or nothing.
 */
export async function finishBundle(codeFile: string, mapFile: string): Promise<void> {
  const [code, mapText] = await Promise.all([readFile(codeFile, 'utf8'), readFile(mapFile, 'utf8')]);
  const map = JSON.parse(mapText) as SourceMapFile;
  const own = map.sources.map((source) => !source.includes('node_modules/'));
  const lines = code.split('\n').map(asciiLine);
  const segments = decode(map.mappings).map((line, index) =>
    line
      .filter((segment) => segment.length > 1 && own[segment[1] ?? -1] === true)
      .map((segment) => shifted(segment, lines[index]?.escapedAt ?? [])),
  );
  map.mappings = encode(segments);
  await Promise.all([
    writeFile(codeFile, lines.map((line) => line.text).join('\n')),
    writeFile(mapFile, JSON.stringify(map)),
  ]);
}
