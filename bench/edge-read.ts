/**
 * A read at the edge, as the target states it: first its capacity (closed loop, autocannon,
 * `connections` at once), then an open loop at a share of that capacity (requests sent on a fixed
 * schedule whatever the answers do, each timed from when it was due, so a stall counts against
 * every request it delays), with p50/p99 and the CPU the named processes spent per request (from
 * /proc). Used by bench/gateway (catalog search) and bench/read-models (a customer's orders).
 */
import http from 'node:http';
import { setTimeout as sleep } from 'node:timers/promises';
import autocannon from 'autocannon';
import { cpuOfPids } from './process-cpu.ts';

export interface EdgeReadResult {
  capacity_per_s: number;
  /** Failed connections and broken answers (not 2xx, 429, 503 or 504) in the capacity phase. */
  capacity_errors: number;
  rate_per_s: number;
  requests: number;
  p50_ms: number;
  p99_ms: number;
  /** Requests that failed or answered anything but 200 in the open loop. */
  errors: number;
  /**
   * Of those, the ones that say the path is broken: anything but the edge's answers to load it
   * cannot take in time (429, 503, 504), which a busy machine may give without anything broken.
   */
  broken_answers: number;
  /** CPU milliseconds per request of the open loop, per named process. */
  cpu_ms_per_request: Record<string, number>;
  /**
   * The same during the capacity phase: the steadier figure on a busy machine, as the processes'
   * background work (polls, timers) is spread over many more requests.
   */
  cpu_ms_per_request_at_capacity: Record<string, number>;
}

const percentile = (sorted: number[], p: number) =>
  sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;

/** One GET, resolved with its status (0: no answer); the body is read and dropped. */
const get = (agent: http.Agent, url: URL, headers: Record<string, string>) =>
  new Promise<number>((resolve) => {
    const request = http.get(url, { agent, headers }, (response) => {
      response.resume();
      response.on('end', () => resolve(response.statusCode ?? 0));
      response.on('error', () => resolve(0));
    });
    request.on('error', () => resolve(0));
  });
const overloaded = new Set([429, 503, 504]);

export async function measureEdgeRead(options: {
  url: string;
  headers?: Record<string, string>;
  /** Seconds of closed-loop load for the capacity. */
  capacitySeconds: number;
  /** Seconds of the open loop. */
  seconds: number;
  /** Share of the capacity offered in the open loop (0.5: half). */
  share?: number;
  connections?: number;
  /** Processes whose CPU is counted per request: label → pid. */
  processes: Record<string, number | undefined>;
}): Promise<EdgeReadResult> {
  const headers = options.headers ?? {};
  const connections = options.connections ?? 10;
  // Warm-up (JIT, pools, token cache), then the capacity.
  await autocannon({ url: options.url, connections, duration: 1, headers });
  const pids = Object.entries(options.processes).filter((entry): entry is [string, number] => !!entry[1]);
  const cpuPerRequest = (before: Map<number, number>, after: Map<number, number>, requests: number) =>
    Object.fromEntries(
      pids.map(([name, pid]) => [
        name,
        Math.round((((after.get(pid) ?? 0) - (before.get(pid) ?? 0)) / Math.max(1, requests)) * 100) / 100,
      ]),
    );
  const capacityCpuBefore = cpuOfPids(pids.map(([, pid]) => pid));
  const capacity = await autocannon({
    url: options.url,
    connections,
    duration: options.capacitySeconds,
    headers,
  });
  const capacityCpu = cpuPerRequest(
    capacityCpuBefore,
    cpuOfPids(pids.map(([, pid]) => pid)),
    capacity.requests.total,
  );
  const capacityPerSecond = Math.round(capacity.requests.average);
  // Connections that failed, and answers that say the path is broken (not a 2xx, 429, 503 or 504).
  const capacityErrors =
    capacity.errors +
    Object.entries(capacity.statusCodeStats ?? {})
      .filter(([status]) => !status.startsWith('2') && !overloaded.has(Number(status)))
      .reduce((sum, [, stats]) => sum + (stats.count ?? 0), 0);
  await sleep(500);

  const rate = Math.max(1, Math.round(capacityPerSecond * (options.share ?? 0.5)));
  const total = Math.max(1, Math.round(rate * options.seconds));
  const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
  const url = new URL(options.url);
  const latencies: number[] = [];
  let errors = 0;
  let brokenAnswers = 0;
  const cpuBefore = cpuOfPids(pids.map(([, pid]) => pid));
  const began = performance.now();
  const pending: Promise<void>[] = [];
  for (let index = 0; index < total; index += 1) {
    const due = began + (index * 1_000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    pending.push(
      get(agent, url, headers).then((status) => {
        if (status !== 200) errors += 1;
        if (status !== 200 && !overloaded.has(status)) brokenAnswers += 1;
        latencies.push(performance.now() - due);
      }),
    );
  }
  await Promise.all(pending);
  const cpuAfter = cpuOfPids(pids.map(([, pid]) => pid));
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const round = (value: number) => Math.round(value * 100) / 100;
  return {
    capacity_per_s: capacityPerSecond,
    capacity_errors: capacityErrors,
    rate_per_s: rate,
    requests: latencies.length,
    p50_ms: round(percentile(latencies, 50)),
    p99_ms: round(percentile(latencies, 99)),
    errors,
    broken_answers: brokenAnswers,
    cpu_ms_per_request: cpuPerRequest(cpuBefore, cpuAfter, latencies.length),
    cpu_ms_per_request_at_capacity: capacityCpu,
  };
}

/** The same statement run directly, sequentially: p50/p99 in ms (the floor under the read). */
export async function timeSequentially(calls: number, call: (index: number) => Promise<unknown>) {
  const taken: number[] = [];
  for (let index = 0; index < calls; index += 1) {
    const began = performance.now();
    await call(index);
    taken.push(performance.now() - began);
  }
  taken.sort((a, b) => a - b);
  return {
    p50_ms: Math.round(percentile(taken, 50) * 100) / 100,
    p99_ms: Math.round(percentile(taken, 99) * 100) / 100,
  };
}
