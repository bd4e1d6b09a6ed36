import { readFile } from 'node:fs/promises';
import { adminTokenPath, readAdminToken } from '../supervisor/admin-token.ts';
import { runStatePath } from '../supervisor/run-state.ts';

const usage = 'usage: mercato dead-letters <service> [list [--all] | show <id> | replay <id>]';

/**
 * `mercato dead-letters catalog list|show|replay`: talks to the service's /admin/dead-letters
 * endpoints, finding its URL in the running platform's state file.
 */
export async function deadLettersCommand(args: string[], dataDir: string): Promise<number> {
  const [service, action = 'list', id] = args;
  if (!service) return fail(usage);
  let state: { services: Record<string, { url: string }> };
  try {
    state = JSON.parse(await readFile(runStatePath(dataDir), 'utf8')) as typeof state;
  } catch {
    return fail(`no running platform found (${runStatePath(dataDir)}); start it with npm start`);
  }
  const base = state.services[service]?.url;
  if (!base) return fail(`unknown service "${service}" (running: ${Object.keys(state.services).join(', ')})`);

  const request = (() => {
    if (action === 'list')
      return { method: 'GET', path: `/admin/dead-letters${args.includes('--all') ? '?all=true' : ''}` };
    if ((action === 'show' || action === 'replay') && id && /^\d+$/.test(id)) {
      return action === 'show'
        ? { method: 'GET', path: `/admin/dead-letters/${id}` }
        : { method: 'POST', path: `/admin/dead-letters/${id}/replay` };
    }
    return undefined;
  })();
  if (!request) return fail(usage);

  // The run's admin token opens the service's /admin endpoints.
  const token = await readAdminToken(dataDir).catch(() => undefined);
  if (!token)
    return fail(`no admin token for this run (${adminTokenPath(dataDir)}); is the platform running?`);
  const response = await fetch(`${base}${request.path}`, {
    method: request.method,
    headers: { authorization: `Bearer ${token}` },
  }).catch((error: Error) => error);
  if (response instanceof Error) return fail(`${service} did not answer at ${base}: ${response.message}`);
  const body: unknown = await response.json().catch(() => ({}));
  process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
  return response.ok ? 0 : 1;
}

function fail(message: string): number {
  process.stderr.write(`mercato: ${message}\n`);
  return 64;
}
