import { spawnSync } from 'node:child_process';
import { MERCATO_CLI, repositoryRoot } from './platform-process.ts';
import { ensurePlatformTemplate } from './platform-template.ts';

/**
 * vitest globalSetup of the e2e and chaos suites: every service's bundle is built before any
 * platform starts, so a suite's start-up figures (e.g. "ready within 30 s") time the platform, not
 * a fresh clone's first build. Only what is stale is built (`mercato build --stale`, as a start
 * does): the first suite of a CI run builds everything, the next ones find every bundle fresh.
 */
export function buildServices(): void {
  const built = spawnSync(process.execPath, [MERCATO_CLI, 'build', '--stale'], {
    cwd: repositoryRoot,
    encoding: 'utf8',
    env: process.env,
  });
  if (built.status !== 0)
    throw new Error(`building the services failed (exit ${built.status}):\n${built.stdout}${built.stderr}`);
}

/**
 * The e2e and chaos suites' global setup: the build, then the data template their platforms start
 * from (platform-template.ts), made once per build.
 */
export default async function setup(): Promise<void> {
  buildServices();
  await ensurePlatformTemplate();
}
