import { readFile, writeFile } from 'node:fs/promises';
import { decode, encode } from '@jridgewell/sourcemap-codec';

interface SourceMapFile {
  sources: string[];
  mappings: string;
}

/**
 * Keeps only the mappings into our own sources. Node parses a bundle's whole source map at start
 * with --enable-source-maps; mapping every library line too cost each process ~15 MB and 0.1 s for
 * stack frames that would name a library file either way. Written here because esbuild maps a
 * bundle all or nothing.
 */
export async function keepOwnMappings(mapFile: string): Promise<void> {
  const map = JSON.parse(await readFile(mapFile, 'utf8')) as SourceMapFile;
  const own = map.sources.map((source) => !source.includes('node_modules/'));
  const lines = decode(map.mappings).map((line) =>
    line.filter((segment) => segment.length > 1 && own[segment[1] ?? -1] === true),
  );
  map.mappings = encode(lines);
  await writeFile(mapFile, JSON.stringify(map));
}
