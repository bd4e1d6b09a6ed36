import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const chassisDir = fileURLToPath(new URL('..', import.meta.url));

// A service whose supervisor died keeps logging into a pipe nobody reads; it must still exit.
const script = `
  import { createLogger } from './src/logging/create-logger.ts';
  const logger = createLogger({ service: 'orphan', level: 'info', pretty: false });
  logger.info('first line');
  setTimeout(() => {
    for (let i = 0; i < 100; i++) logger.info({ i }, 'writing into a closed pipe');
    process.exit(0);
  }, 300);
`;

describe('logging to a supervisor that has gone away', () => {
  it('drops lines instead of blocking the process from exiting', async () => {
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      cwd: chassisDir,
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    await new Promise((resolve) => child.stdout.once('data', resolve));
    child.stdout.destroy();
    const code = await new Promise<number | null>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error('the process hung after its stdout reader went away'));
      }, 10_000);
      child.once('exit', (exitCode) => {
        clearTimeout(timer);
        resolve(exitCode);
      });
    });
    expect(code).toBe(0);
  });
});
