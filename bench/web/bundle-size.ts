import { readFileSync } from 'node:fs';
import path from 'node:path';
import { gzipSync } from 'node:zlib';

interface ManifestChunk {
  file: string;
  imports?: string[];
  css?: string[];
}

const gzipped = (file: string) => gzipSync(readFileSync(file), { level: 9 }).length;

/** The JavaScript a page's entry loads before it can run (the entry and its static imports), gzipped. */
export function entryJavaScript(dist: string, entry: string): { files: string[]; gzipBytes: number } {
  const manifest = JSON.parse(readFileSync(path.join(dist, '.vite', 'manifest.json'), 'utf8')) as Record<
    string,
    ManifestChunk
  >;
  const files = new Set<string>();
  const visit = (key: string) => {
    const chunk = manifest[key];
    if (!chunk || files.has(chunk.file)) return;
    files.add(chunk.file);
    for (const imported of chunk.imports ?? []) visit(imported);
  };
  visit(entry);
  const list = [...files];
  return { files: list, gzipBytes: list.reduce((total, file) => total + gzipped(path.join(dist, file)), 0) };
}

/** The baseline it stands on: React and ReactDOM's own production builds, gzipped the same way. */
export function reactRuntimeGzipBytes(root: string): number {
  return [
    'node_modules/react/cjs/react.production.js',
    'node_modules/react-dom/cjs/react-dom-client.production.js',
  ].reduce((total, file) => total + gzipped(path.join(root, file)), 0);
}
