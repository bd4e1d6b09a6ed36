import { adminClient, fail } from './admin-client.ts';

const usage = 'usage: mercato dead-letters <service> [list [--all] | show <id> | replay <id>]';

/**
 * `mercato dead-letters catalog list|show|replay`: talks to the service's /admin/dead-letters
 * endpoints, finding its URL in the running platform's state file.
 */
export async function deadLettersCommand(args: string[], dataDir: string): Promise<number> {
  const [service, action = 'list', id] = args;
  if (!service) return fail(usage);
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
  const call = await adminClient(service, dataDir);
  if (typeof call === 'string') return fail(call);
  try {
    const { ok, body } = await call(request.method, request.path);
    process.stdout.write(`${JSON.stringify(body, null, 2)}\n`);
    return ok ? 0 : 1;
  } catch (error) {
    return fail((error as Error).message);
  }
}
