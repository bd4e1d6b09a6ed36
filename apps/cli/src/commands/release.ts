import { createInterface } from 'node:readline';
import { Readable } from 'node:stream';
import type { ReleaseEvent } from '../supervisor/releases/release-steps.ts';
import { fail, runAccess } from './admin-client.ts';

const usage =
  'usage: mercato release <service> [--strategy rolling|blue-green|canary] [--to <version label>|current] [--interval-ms N] [--min-sample N] [--p99-margin-ms N] [--smoke-path /api/…]';

/** Reads `--name value` and `--name=value` pairs after the service name. */
function options(args: readonly string[]): Map<string, string> | string {
  const found = new Map<string, string>();
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] ?? '';
    const [name, inline] = arg.split('=', 2) as [string, string | undefined];
    if (
      !['--strategy', '--to', '--interval-ms', '--min-sample', '--p99-margin-ms', '--smoke-path'].includes(
        name,
      )
    )
      return `unknown argument ${arg}`;
    const value = inline ?? args[++index];
    if (!value || value.startsWith('--')) return `${name} needs a value`;
    found.set(name.slice(2), value);
  }
  return found;
}

const row = (event: ReleaseEvent) =>
  `${`+${(event.at_ms / 1000).toFixed(1)}s`.padStart(8)}  ${event.step.padEnd(13)} ${(event.instance ?? '').padEnd(24)} ${event.message}\n`;

/**
 * `mercato release catalog --strategy rolling --to v2`: asks the running platform's supervisor to
 * release a version built with `mercato build --label v2` (or `current`, the working tree's build),
 * printing each step as it happens. Exit 0 when released, 1 when it stopped, 64 when refused.
 */
export async function releaseCommand(args: readonly string[], dataDir: string): Promise<number> {
  const [service, ...rest] = args;
  if (!service || service.startsWith('--')) return fail(usage);
  const parsed = options(rest);
  if (typeof parsed === 'string') return fail(`${parsed} (${usage})`);
  const count = (name: string) => {
    const text = parsed.get(name);
    return text === undefined ? undefined : /^\d{1,7}$/.test(text) ? Number(text) : Number.NaN;
  };
  const [intervalMs, minSample, p99MarginMs] = [
    count('interval-ms'),
    count('min-sample'),
    count('p99-margin-ms'),
  ];
  if (Number.isNaN(intervalMs) || Number.isNaN(minSample) || Number.isNaN(p99MarginMs))
    return fail(`--interval-ms, --min-sample and --p99-margin-ms take a whole number (${usage})`);
  const access = await runAccess(dataDir);
  if (typeof access === 'string') return fail(access);
  const { token } = access;
  const supervisor = access.state.supervisor.url;
  const response = await fetch(`${supervisor}/admin/releases`, {
    method: 'POST',
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
    body: JSON.stringify({
      service,
      strategy: parsed.get('strategy') ?? 'rolling',
      to: parsed.get('to') ?? 'current',
      ...(intervalMs === undefined ? {} : { interval_ms: intervalMs }),
      ...(minSample === undefined ? {} : { min_sample: minSample }),
      ...(p99MarginMs === undefined ? {} : { p99_margin_ms: p99MarginMs }),
      ...(parsed.has('smoke-path') ? { smoke_path: parsed.get('smoke-path') } : {}),
    }),
  }).catch((error: Error) => error);
  if (response instanceof Error)
    return fail(`the supervisor did not answer at ${supervisor}: ${response.message}`);
  if (!response.ok || !response.body) {
    const problem = (await response.json().catch(() => ({}))) as {
      detail?: string;
      title?: string;
      errors?: Array<{ path?: string; message?: string }>;
    };
    const invalid = problem.errors
      ?.map((error) => `${error.path ?? ''} ${error.message ?? ''}`.trim())
      .join('; ');
    return fail(
      `release refused: ${problem.detail ?? problem.title ?? response.statusText}${invalid ? ` (${invalid})` : ''}`,
    );
  }
  let last: ReleaseEvent | undefined;
  const lines = createInterface({
    input: Readable.fromWeb(response.body as import('node:stream/web').ReadableStream),
  });
  for await (const line of lines) {
    if (line.trim() === '') continue;
    last = JSON.parse(line) as ReleaseEvent;
    process.stdout.write(row(last));
  }
  if (!last) return fail('the supervisor ended the release without a word; see its log');
  return last.step === 'released' || last.step === 'nothing-to-do' ? 0 : 1;
}

/**
 * `mercato rollback catalog`: switches the service back to the standby set its last blue-green
 * release kept, in one step. Exit 0 when switched, 64 when refused (no standby, a release running).
 */
export async function rollbackCommand(args: readonly string[], dataDir: string): Promise<number> {
  const [service, ...rest] = args;
  if (!service || service.startsWith('--') || rest.length > 0)
    return fail('usage: mercato rollback <service>');
  const access = await runAccess(dataDir);
  if (typeof access === 'string') return fail(access);
  const supervisor = access.state.supervisor.url;
  const response = await fetch(`${supervisor}/admin/rollbacks`, {
    method: 'POST',
    headers: { authorization: `Bearer ${access.token}`, 'content-type': 'application/json' },
    body: JSON.stringify({ service }),
  }).catch((error: Error) => error);
  if (response instanceof Error)
    return fail(`the supervisor did not answer at ${supervisor}: ${response.message}`);
  const body = (await response.json().catch(() => ({}))) as {
    detail?: string;
    title?: string;
    active?: string[];
    standby?: string[];
    took_ms?: number;
  };
  if (!response.ok) return fail(`rollback refused: ${body.detail ?? body.title ?? response.statusText}`);
  process.stdout.write(
    `${service} switched back in ${body.took_ms} ms: ${body.active?.join(', ')} active, ${body.standby?.join(', ')} standing by\n`,
  );
  return 0;
}
