import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const serviceDir = fileURLToPath(new URL('..', import.meta.url));

/** Runs the real composition root as a process, as the supervisor would. */
function runCatalog(env: Record<string, string>): Promise<{ code: number | null; stderr: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'src/main.ts'], {
      cwd: serviceDir,
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => {
      stderr += chunk.toString();
    });
    child.on('exit', (code) => resolve({ code, stderr }));
  });
}

describe('catalog start-up', () => {
  it('exits 78 with one line naming PORT when PORT is invalid', async () => {
    const { code, stderr } = await runCatalog({ PORT: 'abc', DATABASE_URL: 'postgres://x@127.0.0.1:1/x' });
    expect(code).toBe(78);
    expect(stderr).toBe(
      'catalog: invalid configuration: PORT: expected an integer from 0 to 65535 (got "abc")\n',
    );
  });

  it('names a missing DATABASE_URL', async () => {
    const { code, stderr } = await runCatalog({});
    expect(code).toBe(78);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toContain('DATABASE_URL: required');
  });

  it('exits 1 with one line when the database cannot be reached', async () => {
    const { code, stderr } = await runCatalog({ DATABASE_URL: 'postgres://catalog@127.0.0.1:1/catalog' });
    expect(code).toBe(1);
    expect(stderr.trim().split('\n')).toHaveLength(1);
    expect(stderr).toMatch(/^catalog: failed to start: .*ECONNREFUSED/);
  });

  it('names a discovery setting that cannot work, before touching the database', async () => {
    const registry = await runCatalog({
      MERCATO_DISCOVERY: 'registry',
      DATABASE_URL: 'postgres://catalog@127.0.0.1:1/catalog',
    });
    expect(registry).toEqual({
      code: 78,
      stderr:
        'catalog: invalid configuration: MERCATO_DISCOVERY=registry needs MERCATO_REGISTRY_URL and MERCATO_ADMIN_TOKEN (the supervisor sets both)\n',
    });
    const peers = await runCatalog({
      MERCATO_PEERS: 'pricing=ftp://x:1',
      DATABASE_URL: 'postgres://x@127.0.0.1:1/x',
    });
    expect(peers.code).toBe(78);
    expect(peers.stderr).toBe(
      'catalog: invalid configuration: MERCATO_PEERS: expected name[/http]=http://host:port entries separated by commas; "pricing=ftp://x:1" needs http(s)://host:port addresses, nothing after the port (got "pricing=ftp://x:1")\n',
    );
  });
});
