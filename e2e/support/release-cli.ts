import { spawn } from 'node:child_process';
import { MERCATO_CLI, repositoryRoot } from './platform-process.ts';

/** Runs the CLI (`mercato …`) against the platform whose data directory is `dataDir`; its output and exit code. */
export function mercato(dataDir: string, args: string[]): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [MERCATO_CLI, ...args], {
      cwd: repositoryRoot,
      env: { ...process.env, MERCATO_DATA_DIR: dataDir },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.stderr.on('data', (chunk: Buffer) => {
      output += chunk.toString();
    });
    child.on('exit', (code) => resolve({ code, output }));
  });
}

/** gRPC calls an instance has served so far (its own server's count). */
export async function served(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return metricSum(text, 'rpc_server_duration_seconds_count');
}

/** The sum of one metric's samples over all its labels in a Prometheus text page (0 when absent). */
export function metricSum(text: string, name: string): number {
  return text
    .split('\n')
    .filter((line) => line.startsWith(`${name}{`) || line.startsWith(`${name} `))
    .reduce((sum, line) => sum + Number(line.split(' ').pop()), 0);
}
