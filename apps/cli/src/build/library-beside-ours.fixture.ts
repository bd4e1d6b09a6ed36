import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * For the build's tests: an entry `<name>.ts` in `folder` whose bundle puts a library's function on
 * the same minified line after code of ours (our module is imported first, then the library), the
 * library's `libFail` throwing from inside our `run` (line 4 of the entry). `then` ends the entry.
 */
export async function writeLibraryBesideOurs(folder: string, name: string, then: string[]): Promise<void> {
  const library = path.join(folder, 'node_modules', 'fakelib');
  await mkdir(library, { recursive: true });
  await writeFile(
    path.join(library, 'package.json'),
    '{"name":"fakelib","version":"1.0.0","main":"index.js","type":"module"}',
  );
  await writeFile(
    path.join(library, 'index.js'),
    "export function libFail() {\n  throw new Error('from the library');\n}\n",
  );
  await writeFile(path.join(folder, 'first.ts'), 'export const first = (n: number) => n + 1;\n');
  await writeFile(
    path.join(folder, `${name}.ts`),
    [
      "import { first } from './first.ts';",
      "import { libFail } from 'fakelib';",
      'function run(): number {',
      '  return first(libFail());',
      '}',
      ...then,
      '',
    ].join('\n'),
  );
}
