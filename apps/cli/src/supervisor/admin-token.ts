import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';

/** `<dataDir>/run/admin-token`: the secret that opens every service's `/admin/*` during this run. */
export const adminTokenPath = (dataDir: string): string => path.join(dataDir, 'run', 'admin-token');

/** A new admin token for this run, readable by its owner only (the `mercato` CLI reads it). */
export async function createAdminToken(dataDir: string): Promise<string> {
  const token = randomBytes(32).toString('base64url');
  const file = adminTokenPath(dataDir);
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, `${token}\n`, { mode: 0o600 });
  return token;
}

export const readAdminToken = async (dataDir: string): Promise<string> =>
  (await readFile(adminTokenPath(dataDir), 'utf8')).trim();
