import { readFile } from 'node:fs/promises';
import { createLogger } from '@mercato/chassis/logging';
import { adminTokenPath, readAdminToken } from '../supervisor/admin-token.ts';
import { type RunState, runStatePath } from '../supervisor/run-state.ts';
import { SUPERVISOR_IDENTITY, workloadTlsFiles } from '../supervisor/workload-tls-files.ts';

export type AdminCall = (
  method: string,
  path: string,
  body?: unknown,
) => Promise<{ ok: boolean; body: unknown }>;

/** What a command needs of the running platform: its state file and the run's admin token. */
export interface RunAccess {
  state: Pick<RunState, 'supervisor' | 'services'>;
  token: string;
}

/** The running platform's state and admin token, or the one-line reason there are none. */
export async function runAccess(dataDir: string): Promise<RunAccess | string> {
  let state: RunAccess['state'];
  try {
    state = JSON.parse(await readFile(runStatePath(dataDir), 'utf8')) as RunAccess['state'];
  } catch {
    return `no running platform found (${runStatePath(dataDir)}); start it with npm start`;
  }
  const token = await readAdminToken(dataDir).catch(() => undefined);
  if (!token) return `no admin token for this run (${adminTokenPath(dataDir)}); is the platform running?`;
  return { state, token };
}

/**
 * Calls to one running service's /admin endpoints: its URL from the platform's state file, the
 * run's admin token. A string is the one-line reason it cannot be reached.
 */
export async function adminClient(service: string, dataDir: string): Promise<AdminCall | string> {
  const access = await runAccess(dataDir);
  if (typeof access === 'string') return access;
  const { state, token } = access;
  // The process of that name, or the first instance of that service (a release names them by version).
  const base =
    state.services[service]?.url ??
    Object.values(state.services).find((entry) => entry.service === service)?.url;
  if (!base) return `unknown service "${service}" (running: ${Object.keys(state.services).join(', ')})`;
  // Under `--mtls` a service's HTTP port takes only a platform certificate: the CLI, which reads the
  // run's admin token from the data directory, presents the supervisor's from there too.
  if (base.startsWith('https:')) {
    const { loadWorkloadTls, presentWorkloadCertificate } = await import('@mercato/chassis/workload-tls');
    try {
      const silent = createLogger({ service: 'mercato', level: 'silent' });
      presentWorkloadCertificate(loadWorkloadTls(workloadTlsFiles(dataDir, SUPERVISOR_IDENTITY), silent));
    } catch (error) {
      return `${service} takes only mutual TLS, and this run's certificates cannot be read: ${(error as Error).message}`;
    }
  }
  return async (method, path, body) => {
    const response = await fetch(`${base}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    }).catch((error: Error) => error);
    if (response instanceof Error)
      throw new Error(`${service} did not answer at ${base}: ${response.message}`);
    return { ok: response.ok, body: await response.json().catch(() => ({})) };
  };
}

export function fail(message: string): number {
  process.stderr.write(`mercato: ${message}\n`);
  return 64;
}
