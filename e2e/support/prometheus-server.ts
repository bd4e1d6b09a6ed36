import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { infraRequired, waitFor } from '@mercato/chassis/testing';

/** Where the machine's Prometheus is (Debian's `prometheus` package: 2.42), or why there is none. */
export function findPrometheus(): { prometheus: string; promtool: string } | { reason: string } {
  const folder = ['/usr/bin', '/usr/local/bin'].find(
    (candidate) => existsSync(`${candidate}/prometheus`) && existsSync(`${candidate}/promtool`),
  );
  if (folder) return { prometheus: `${folder}/prometheus`, promtool: `${folder}/promtool` };
  const reason = 'no prometheus and promtool on this machine (apt-get install prometheus)';
  if (infraRequired()) throw new Error(`MERCATO_REQUIRE_INFRA is set but ${reason}`);
  return { reason };
}

/** `promtool check config <file>`: its output, and whether it passed. */
export function promtoolCheckConfig(promtool: string, file: string): { ok: boolean; output: string } {
  const check = spawnSync(promtool, ['check', 'config', file], { encoding: 'utf8' });
  return { ok: check.status === 0, output: `${check.stdout}${check.stderr}` };
}

/** One sample of an instant query: its labels and value (`NaN` as Prometheus writes it). */
export interface Sample {
  metric: Record<string, string>;
  value: number;
}

export interface RuleState {
  name: string;
  type: 'recording' | 'alerting';
  query: string;
  health: 'ok' | 'err' | 'unknown';
  lastError?: string;
}

/** A real Prometheus server on loopback, with a throwaway TSDB, stopped by `stop`. */
export class PrometheusServer {
  readonly url: string;
  readonly #child: ChildProcess;
  readonly #output: string[] = [];

  constructor(binary: string, options: { configFile: string; dataDir: string; port: number }) {
    this.url = `http://127.0.0.1:${options.port}`;
    this.#child = spawn(
      binary,
      [
        `--config.file=${options.configFile}`,
        `--storage.tsdb.path=${options.dataDir}`,
        `--web.listen-address=127.0.0.1:${options.port}`,
        '--log.level=warn',
      ],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    for (const stream of [this.#child.stdout, this.#child.stderr])
      stream?.on('data', (chunk: Buffer) => this.#output.push(chunk.toString('utf8')));
  }

  /** What the server printed (its warnings and errors). */
  get output(): string {
    return this.#output.join('');
  }

  async ready(timeoutMs = 20_000): Promise<void> {
    const giveUpAt = Date.now() + timeoutMs;
    while (Date.now() < giveUpAt) {
      if (this.#child.exitCode !== null)
        throw new Error(`prometheus exited (${this.#child.exitCode}):\n${this.output}`);
      const answer = await fetch(`${this.url}/-/ready`).catch(() => undefined);
      if (answer?.status === 200) return;
      await sleep(100);
    }
    throw new Error(`prometheus was not ready within ${timeoutMs} ms:\n${this.output}`);
  }

  async #api<T>(apiPath: string): Promise<T> {
    const response = await fetch(`${this.url}/api/v1/${apiPath}`);
    const body = (await response.json()) as { status: string; data: T; error?: string };
    if (body.status !== 'success') throw new Error(`${apiPath}: ${body.error ?? response.status}`);
    return body.data;
  }

  /** An instant query's samples; a query Prometheus refuses throws with its error. */
  async query(expr: string): Promise<Sample[]> {
    const data = await this.#api<{
      resultType: string;
      result: { metric: Record<string, string>; value: [number, string] }[];
    }>(`query?query=${encodeURIComponent(expr)}`);
    if (data.resultType !== 'vector') throw new Error(`${expr}: a ${data.resultType}, not a vector`);
    return data.result.map(({ metric, value }) => ({ metric, value: Number(value[1]) }));
  }

  /** Resolves with the active targets once there are `count`, every one up (scraped). */
  async targetsUp(
    count: number,
    timeoutMs = 20_000,
  ): Promise<Awaited<ReturnType<PrometheusServer['targets']>>> {
    await waitFor(
      `${count} targets scraped`,
      async () => {
        const targets = await this.targets();
        return targets.length === count && targets.every((target) => target.health === 'up');
      },
      timeoutMs,
      250,
    );
    return this.targets();
  }

  /** The active targets, with the labels they carry after relabelling (`job`, `service`, `process`…). */
  async targets(): Promise<
    { labels: Record<string, string>; health: string; lastError: string; scrapeUrl: string }[]
  > {
    const data = await this.#api<{
      activeTargets: {
        labels: Record<string, string>;
        health: string;
        lastError: string;
        scrapeUrl: string;
      }[];
    }>('targets?state=active');
    return data.activeTargets.map(({ labels, health, lastError, scrapeUrl }) => ({
      labels,
      health,
      lastError,
      scrapeUrl,
    }));
  }

  async rules(): Promise<RuleState[]> {
    const data = await this.#api<{ groups: { rules: RuleState[] }[] }>('rules');
    return data.groups.flatMap((group) => group.rules);
  }

  async stop(): Promise<void> {
    if (this.#child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.#child.once('exit', resolve));
    this.#child.kill('SIGTERM');
    await Promise.race([exited, sleep(5_000)]);
    if (this.#child.exitCode === null) this.#child.kill('SIGKILL');
  }
}
