import { rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

/**
 * The end of a platform's data directory: removed, or, when `keep` (a suite's `…_KEEP` variable is
 * set), kept for a post-mortem with every line the platform printed in `platform.log`, its path
 * printed under `name`.
 */
export async function removeOrKeep(
  name: string,
  dataDir: string,
  lines: readonly string[],
  keep: boolean,
): Promise<void> {
  if (!keep) return rm(dataDir, { recursive: true, force: true });
  await writeFile(path.join(dataDir, 'platform.log'), `${lines.join('\n')}\n`);
  process.stdout.write(`${name}: data and platform.log kept in ${dataDir}\n`);
}
