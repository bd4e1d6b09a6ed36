/**
 * Overload at the edge: is what the platform cannot take refused at once, and does it recover?
 *
 *   0. warm-up: the calibration's closed loop for BENCH_WARMUP_SECONDS, not measured;
 *   1. calibration (same-run baseline): BENCH_CALIBRATION_CLIENTS clients in a closed loop, each
 *      placing an order and waiting until it is confirmed or cancelled, for BENCH_CALIBRATION_SECONDS:
 *      the rate the machine confirms (C) and the accept latency at that load;
 *   2. burst: BENCH_OVERLOAD_FACTOR × C orders/s offered open loop for BENCH_SECONDS;
 *   3. after: C/2 orders/s for BENCH_AFTER_SECONDS: how soon accept latency is back to calibration's.
 *
 * Prints refusals by status and code, p99 of the refusals and of accepted orders' accept latency,
 * orders accepted and never finished or lost (absent from the order service's store), the time
 * after the burst until latency is back to the calibration level and until the burst's orders are
 * all finished, and the adaptive limits over time, scraped from the gateway's and order's /metrics.
 * Writes bench/results/overload.json. BENCH_LIMITS=fixed runs the same with the gateway's fixed
 * bulkhead and no placement limit (the behaviour before adaptive limits), for comparison.
 * BENCH_SMOKE=1: short phases; exits non-zero if the bench broke (nothing accepted, a refusal without
 * Retry-After or problem+json, an answer other than 202/503/429, an accepted order lost).
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { parsePrometheusText, sampleValue } from '@mercato/chassis/testing';
import pg from 'pg';
import { customers, demoSkus, percentile, root, seedStock, startPlatform } from '../platform.ts';

const smoke = process.env.BENCH_SMOKE === '1';
const number = (name: string, fallback: number, smokeValue = fallback) =>
  Number(process.env[name] ?? (smoke ? smokeValue : fallback));
const burstSeconds = number('BENCH_SECONDS', 20, 4);
const calibrationSeconds = number('BENCH_CALIBRATION_SECONDS', 10, 3);
const afterSeconds = number('BENCH_AFTER_SECONDS', 15, 4);
const warmupSeconds = number('BENCH_WARMUP_SECONDS', 5, 1);
const factor = number('BENCH_OVERLOAD_FACTOR', 3);
const calibrationClients = number('BENCH_CALIBRATION_CLIENTS', 4, 2);
const limits = process.env.BENCH_LIMITS ?? 'adaptive';
if (limits !== 'adaptive' && limits !== 'fixed') {
  console.error(`bench/overload: BENCH_LIMITS must be adaptive or fixed, not "${limits}"`);
  process.exit(2);
}
const ports = { postgres: 25422, gateway: 19480, base: 11001, grpcBase: 11101 };

interface Answer {
  label: string;
  status: number;
  ms: number;
  /** When it was sent, in s since the bench's clock started. */
  sentAt: number;
  orderId?: string;
  retryAfter: boolean;
  problemJson: boolean;
}

const clock = performance.now();
const now = () => (performance.now() - clock) / 1_000;

const platform = await startPlatform('overload', ports, {
  // What is measured is placement: confirmed is the end of an order here, as in bench/orders.
  FULFILLMENT_WORKERS: '0',
  GATEWAY_RATE_LIMIT_CREDENTIALS: 'off',
  ...(limits === 'fixed'
    ? { RPC_CONCURRENCY_LIMIT: 'fixed', ORDER_PLACEMENT_LIMIT: 'off', GATEWAY_PLACEMENT_LIMIT: 'off' }
    : {}),
});
/**
 * The main thread's scheduler counters (/proc/<pid>/schedstat, Linux): nanoseconds on a core,
 * nanoseconds runnable but waiting for one, and how many times it was run.
 */
const schedulerStats = (pid: number | undefined) => {
  if (pid === undefined) return undefined;
  try {
    const [onCpu, waiting, runs] = readFileSync(`/proc/${pid}/schedstat`, 'utf8')
      .trim()
      .split(/\s+/)
      .map(Number);
    return { onCpu: onCpu ?? 0, waiting: waiting ?? 0, runs: runs ?? 0, at: performance.now() };
  } catch {
    return undefined;
  }
};
const waitsBetween = (
  before: ReturnType<typeof schedulerStats>,
  after: ReturnType<typeof schedulerStats>,
) => {
  if (!before || !after || after.runs <= before.runs) return undefined;
  const seconds = (after.at - before.at) / 1000;
  const runs = after.runs - before.runs;
  const waited = (after.waiting - before.waiting) / 1e6;
  return {
    runs_per_s: Math.round(runs / seconds),
    waited_ms_per_s: Math.round(waited / seconds),
    mean_wait_ms: Math.round((waited / runs) * 100) / 100,
    on_cpu_ms_per_s: Math.round((after.onCpu - before.onCpu) / 1e6 / seconds),
  };
};

let exitCode = 0;
try {
  await seedStock(platform);
  const orderDb = new pg.Client({ connectionString: platform.databaseUrl('order') });
  orderDb.on('error', () => undefined);
  await orderDb.connect();
  const tokens = await customers(platform.gateway, smoke ? 4 : 20, 'overload');

  /** Accepted orders until the order service's store says how they ended. */
  const accepted = new Map<string, { acceptedAt: number; phase: string }>();
  const ended = new Map<string, { at: number; type: string }>();
  const waiters = new Map<string, () => void>();
  let polling = true;
  const poller = (async () => {
    while (polling) {
      const open = [...accepted.keys()].filter((id) => !ended.has(id));
      if (open.length > 0) {
        const { rows } = await orderDb.query<{ stream_id: string; event_type: string }>(
          `SELECT stream_id, event_type FROM es_events
            WHERE stream_id = ANY($1::text[]) AND event_type IN ('OrderConfirmed', 'OrderCancelled', 'OrderFailed')`,
          [open.map((id) => `order-${id}`)],
        );
        for (const row of rows) {
          const id = row.stream_id.slice('order-'.length);
          ended.set(id, { at: now(), type: row.event_type });
          waiters.get(id)?.();
          waiters.delete(id);
        }
      }
      await sleep(100);
    }
  })();
  const terminal = (id: string) =>
    ended.has(id) ? Promise.resolve() : new Promise<void>((resolve) => waiters.set(id, resolve));

  let sequence = 0;
  const place = async (phase: string): Promise<Answer> => {
    sequence += 1;
    const index = sequence;
    const sentAt = now();
    const started = performance.now();
    try {
      const response = await fetch(`${platform.gateway}/api/orders`, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          authorization: `Bearer ${tokens[index % tokens.length]}`,
          'idempotency-key': `overload-${clock.toFixed(0)}-${index}`,
        },
        body: JSON.stringify({
          items: [{ sku: demoSkus[index % demoSkus.length], quantity: 1 }],
          shipping_address: '1 Bench Road',
        }),
      });
      const body = (await response.json()) as { order_id?: string; code?: string };
      const ms = performance.now() - started;
      const answer: Answer = {
        label: response.status === 202 ? '202 accepted' : `${response.status} ${body.code ?? ''}`,
        status: response.status,
        ms,
        sentAt,
        retryAfter: response.headers.has('retry-after'),
        problemJson: (response.headers.get('content-type') ?? '').startsWith('application/problem+json'),
      };
      if (response.status === 202 && body.order_id) {
        answer.orderId = body.order_id;
        accepted.set(body.order_id, { acceptedAt: now(), phase });
      }
      return answer;
    } catch {
      return {
        label: 'network error',
        status: 0,
        ms: performance.now() - started,
        sentAt,
        retryAfter: false,
        problemJson: false,
      };
    }
  };

  /** Open loop: `perSecond` for `seconds`, without waiting for answers. */
  const offer = async (phase: string, perSecond: number, seconds: number) => {
    const answers: Promise<Answer>[] = [];
    const began = performance.now();
    const total = Math.max(1, Math.round(perSecond * seconds));
    for (let index = 0; index < total; index += 1) {
      const wait = began + (index * 1_000) / perSecond - performance.now();
      if (wait > 1) await sleep(wait);
      answers.push(place(phase));
    }
    return Promise.all(answers);
  };

  // The limits over time, from the services' own metrics: the gateway's for order placement and
  // for its calls to order, and order's placement limit.
  type Point = { t: number; phase: string } & Record<string, number | string | undefined>;
  const series: Point[] = [];
  const scraped = [
    ['edge_placement', 'gateway', 'edge-placement'],
    ['gateway_order_calls', 'gateway', 'order'],
    ['order_placement', 'order', 'placement'],
  ] as const;
  let phaseName = 'warm-up';
  let scraping = true;
  const scrape = async (service: 'gateway' | 'order') => {
    const url = service === 'gateway' ? platform.gateway : platform.serviceUrl('order');
    return parsePrometheusText(await (await fetch(`${url}/metrics`)).text());
  };
  const scraper = (async () => {
    while (scraping) {
      const point: Point = { t: Math.round(now() * 10) / 10, phase: phaseName };
      const families = await Promise.all([scrape('gateway'), scrape('order')]).catch(() => undefined);
      for (const [key, service, limiter] of scraped) {
        const from = families?.[service === 'gateway' ? 0 : 1] ?? [];
        point[`${key}_limit`] = sampleValue(from, 'concurrency_limit', { limiter });
        point[`${key}_in_flight`] = sampleValue(from, 'concurrency_limit_in_flight', { limiter });
      }
      series.push(point);
      await sleep(500);
    }
  })();

  /**
   * The gateway's own histogram of POST /api/orders by status: how long the edge took from the
   * request's arrival to its answer, without the client's and the network's share.
   */
  const placementDurations = async () => {
    const family = (await scrape('gateway')).find(
      (found) => found.name === 'http_server_request_duration_seconds',
    );
    const buckets = new Map<string, Map<number, number>>();
    for (const sample of family?.samples ?? []) {
      const { method, route, status_code: status, le } = sample.labels;
      if (!sample.name.endsWith('_bucket') || method !== 'POST' || route !== '/api/orders' || !status || !le)
        continue;
      const byBound = buckets.get(status) ?? new Map<number, number>();
      byBound.set(le === '+Inf' ? Number.POSITIVE_INFINITY : Number(le), sample.value);
      buckets.set(status, byBound);
    }
    return buckets;
  };
  /** Per status, answers in the window and the bucket bound under which 50 % and 99 % fell. */
  const serverSide = (before: Map<string, Map<number, number>>, after: Map<string, Map<number, number>>) =>
    Object.fromEntries(
      [...after].map(([status, byBound]) => {
        const bounds = [...byBound.keys()].sort((a, b) => a - b);
        const counts = bounds.map(
          (bound) => (byBound.get(bound) ?? 0) - (before.get(status)?.get(bound) ?? 0),
        );
        const total = counts.at(-1) ?? 0;
        const under = (share: number) => {
          const index = counts.findIndex((count) => count >= total * share);
          const bound = bounds[index] ?? Number.POSITIVE_INFINITY;
          return Number.isFinite(bound) ? bound * 1000 : null;
        };
        return [status, { answers: total, p50_le_ms: under(0.5), p99_le_ms: under(0.99) }];
      }),
    );

  /** A closed loop: each client waits for its order's end before placing the next. */
  const closedLoop = async (phase: string, seconds: number) => {
    const start = now();
    const answers: Answer[] = [];
    await Promise.all(
      Array.from({ length: calibrationClients }, async () => {
        while (now() - start < seconds) {
          const answer = await place(phase);
          answers.push(answer);
          if (answer.orderId)
            await Promise.race([terminal(answer.orderId), sleep(30_000, undefined, { ref: false })]);
          else await sleep(200);
        }
      }),
    );
    return { start, answers };
  };
  // 0. Warm-up, not measured: the first orders of a fresh platform pay for its JIT and caches.
  phaseName = 'warm-up';
  await closedLoop('warm-up', warmupSeconds);
  // 1. Calibration.
  phaseName = 'calibration';
  const { start: calibrationStart, answers: calibrationAnswers } = await closedLoop(
    'calibration',
    calibrationSeconds,
  );
  const calibrationEnd = now();
  const calibrationFinished = [...ended.entries()].filter(
    ([id, end]) => accepted.get(id)?.phase === 'calibration' && end.at <= calibrationEnd,
  ).length;
  const confirmedPerSecond = calibrationFinished / (calibrationEnd - calibrationStart);
  const calibrationAccepts = calibrationAnswers.filter((answer) => answer.status === 202).map((a) => a.ms);
  const calibrationP99 = percentile(calibrationAccepts, 99);

  // 2. Burst at three times that.
  const burstRate = Math.max(1, Math.round(factor * confirmedPerSecond * 10) / 10);
  phaseName = 'burst';
  const beforeBurst = await placementDurations();
  const gatewayPid = platform.pidOf('gateway');
  const scheduledBefore = schedulerStats(gatewayPid);
  const burstAnswers = await offer('burst', burstRate, burstSeconds);
  const burstEnd = now();
  const atGateway = serverSide(beforeBurst, await placementDurations());
  const gatewayWaits = waitsBetween(scheduledBefore, schedulerStats(gatewayPid));

  // 3. Back to normal: half the confirmed rate.
  const afterRate = Math.max(0.5, Math.round((confirmedPerSecond / 2) * 10) / 10);
  phaseName = 'after';
  const afterAnswers = await offer('after', afterRate, afterSeconds);

  // Every accepted order should end; those that do not within the wait are unfinished.
  phaseName = 'drain';
  const waitEnds = Date.now() + (smoke ? 20_000 : 120_000);
  while (Date.now() < waitEnds && [...accepted.keys()].some((id) => !ended.has(id))) await sleep(250);
  scraping = false;
  polling = false;
  await Promise.all([scraper, poller]);

  const acceptedIds = [...accepted.keys()];
  const { rows: stored } = await orderDb.query<{ stream_id: string }>(
    `SELECT DISTINCT stream_id FROM es_events WHERE stream_id = ANY($1::text[])`,
    [acceptedIds.map((id) => `order-${id}`)],
  );
  await orderDb.end();
  const lost = acceptedIds.length - stored.length;
  const unfinished = acceptedIds.filter((id) => !ended.has(id)).length;

  // When the backlog of the burst drained: the last of its orders to end.
  const burstIds = acceptedIds.filter((id) => accepted.get(id)?.phase === 'burst');
  const burstDrainedAt = Math.max(
    burstEnd,
    ...burstIds.map((id) => ended.get(id)?.at ?? Number.POSITIVE_INFINITY),
  );
  // When accept latency was back to calibration's: after the last 1 s window of the after phase
  // whose p99 was above 1.5 × calibration's p99 (+ 20 ms for noise), or that refused anything.
  const threshold = Math.max(calibrationP99 * 1.5, calibrationP99 + 20);
  const windows = new Map<number, Answer[]>();
  for (const answer of afterAnswers) {
    const second = Math.floor(answer.sentAt - burstEnd);
    windows.set(second, [...(windows.get(second) ?? []), answer]);
  }
  let lastBad = -1;
  for (const [second, answers] of windows) {
    const accepts = answers.filter((answer) => answer.status === 202).map((answer) => answer.ms);
    if (answers.some((answer) => answer.status !== 202) || percentile(accepts, 99) > threshold)
      lastBad = Math.max(lastBad, second);
  }
  const recoveredAfter = lastBad + 1;

  const all = [...calibrationAnswers, ...burstAnswers, ...afterAnswers];
  const refusals = all.filter((answer) => answer.status !== 202);
  const byLabel = (answers: Answer[]) =>
    Object.fromEntries(
      [
        ...answers.reduce(
          (counts, answer) => counts.set(answer.label, (counts.get(answer.label) ?? 0) + 1),
          new Map<string, number>(),
        ),
      ].sort(),
    );
  const phaseSummary = (answers: Answer[], seconds: number, rate?: number) => {
    const accepts = answers.filter((answer) => answer.status === 202).map((answer) => answer.ms);
    const refused = answers.filter((answer) => answer.status !== 202).map((answer) => answer.ms);
    return {
      ...(rate !== undefined ? { offered_per_s: rate } : {}),
      seconds,
      offered: answers.length,
      accepted: accepts.length,
      refused: refused.length,
      answers: byLabel(answers),
      accept_p50_ms: percentile(accepts, 50),
      accept_p99_ms: percentile(accepts, 99),
      refusal_p50_ms: percentile(refused, 50),
      refusal_p99_ms: percentile(refused, 99),
    };
  };
  // Which answers each second of the burst brought (by when they were sent): where order's own
  // refusals fall, against the edge's.
  const burstBegan = Math.min(...burstAnswers.map((answer) => answer.sentAt));
  const burstBySecond = Array.from({ length: Math.ceil(burstSeconds) }, (_, second) =>
    byLabel(burstAnswers.filter((answer) => Math.floor(answer.sentAt - burstBegan) === second)),
  );
  const result = {
    limits,
    smoke,
    calibration: {
      ...phaseSummary(calibrationAnswers, calibrationSeconds),
      clients: calibrationClients,
      confirmed_per_s: Math.round(confirmedPerSecond * 10) / 10,
    },
    burst: phaseSummary(burstAnswers, burstSeconds, burstRate),
    after: phaseSummary(afterAnswers, afterSeconds, afterRate),
    refusals: {
      total: refusals.length,
      by_answer: byLabel(refusals),
      p99_ms: percentile(
        refusals.map((answer) => answer.ms),
        99,
      ),
      p99_ms_by_answer: Object.fromEntries(
        [...new Set(refusals.map((answer) => answer.label))].map((label) => [
          label,
          percentile(
            refusals.filter((answer) => answer.label === label).map((answer) => answer.ms),
            99,
          ),
        ]),
      ),
      without_retry_after: refusals.filter((answer) => answer.status !== 0 && !answer.retryAfter).length,
      without_problem_json: refusals.filter((answer) => answer.status !== 0 && !answer.problemJson).length,
    },
    accepted: acceptedIds.length,
    unfinished,
    lost,
    burst_backlog_drained_after_s: Number.isFinite(burstDrainedAt)
      ? Math.round((burstDrainedAt - burstEnd) * 10) / 10
      : null,
    latency_back_to_calibration_after_s: lastBad + 1 >= afterSeconds ? null : recoveredAfter,
    recovery_threshold_p99_ms: Math.round(threshold),
    burst_at_gateway: atGateway,
    burst_answers_by_second: burstBySecond,
    burst_gateway_run_queue: gatewayWaits,
    limits_over_time: series,
  };

  mkdirSync(path.join(root, 'bench/results'), { recursive: true });
  writeFileSync(path.join(root, 'bench/results/overload.json'), `${JSON.stringify(result, null, 2)}\n`);

  const row = (cells: (string | number)[]) => console.log(`| ${cells.join(' | ')} |`);
  console.log(`\nbench/overload (${limits} limits${smoke ? ', smoke' : ''})\n`);
  row(['phase', 'offered/s', 's', 'offered', 'accepted', 'refused', 'accept p50 / p99 ms', 'refusal p99 ms']);
  row(['---', '---', '---', '---', '---', '---', '---', '---']);
  row([
    `calibration (${calibrationClients} closed-loop clients)`,
    '-',
    calibrationSeconds,
    result.calibration.offered,
    result.calibration.accepted,
    result.calibration.refused,
    `${result.calibration.accept_p50_ms} / ${result.calibration.accept_p99_ms}`,
    result.calibration.refusal_p99_ms,
  ]);
  row([
    `burst (${factor}× confirmed)`,
    burstRate,
    burstSeconds,
    result.burst.offered,
    result.burst.accepted,
    result.burst.refused,
    `${result.burst.accept_p50_ms} / ${result.burst.accept_p99_ms}`,
    result.burst.refusal_p99_ms,
  ]);
  row([
    'after (½ confirmed)',
    afterRate,
    afterSeconds,
    result.after.offered,
    result.after.accepted,
    result.after.refused,
    `${result.after.accept_p50_ms} / ${result.after.accept_p99_ms}`,
    result.after.refusal_p99_ms,
  ]);
  console.log(`\nconfirmed in calibration: ${result.calibration.confirmed_per_s}/s (the same-run baseline)`);
  console.log(`answers: ${JSON.stringify(byLabel(all))}`);
  console.log(
    `refusals: ${refusals.length}, p99 ${result.refusals.p99_ms} ms (${JSON.stringify(result.refusals.p99_ms_by_answer)}); without Retry-After ${result.refusals.without_retry_after}, without problem+json ${result.refusals.without_problem_json}`,
  );
  console.log(
    `burst at the gateway (its own histogram, bucket bounds): ${Object.entries(atGateway)
      .map(
        ([status, figures]) =>
          `${status}: ${figures.answers} answers, p50 ≤ ${figures.p50_le_ms} ms, p99 ≤ ${figures.p99_le_ms} ms`,
      )
      .join('; ')}`,
  );
  if (gatewayWaits)
    console.log(
      `burst: the gateway's main thread waited for a core ${gatewayWaits.waited_ms_per_s} ms per second, ${gatewayWaits.mean_wait_ms} ms on average each of its ${gatewayWaits.runs_per_s} runs a second`,
    );
  console.log(`accepted ${acceptedIds.length}: unfinished ${unfinished}, lost ${lost}`);
  console.log(
    `burst backlog drained ${result.burst_backlog_drained_after_s ?? 'never (within the wait)'} s after the burst; accept latency back under ${Math.round(threshold)} ms p99 after ${result.latency_back_to_calibration_after_s ?? `more than ${afterSeconds}`} s`,
  );
  console.log('\nlimits over time, limit/in flight (every 2 s):');
  for (const point of series.filter((_, index) => index % 4 === 0))
    console.log(
      `  ${point.t.toFixed(1).padStart(6)} s ${point.phase.padEnd(11)} ${scraped
        .map(([key]) => `${key} ${point[`${key}_limit`] ?? '-'}/${point[`${key}_in_flight`] ?? '-'}`)
        .join('  ')}`,
    );

  const broken: string[] = [];
  if (result.calibration.accepted === 0) broken.push('calibration accepted no order');
  const unexpected = all.filter((answer) => ![202, 503, 429].includes(answer.status));
  if (unexpected.length > 0)
    broken.push(
      `${unexpected.length} answers other than 202/503/429: ${JSON.stringify(byLabel(unexpected))}`,
    );
  if (result.refusals.without_retry_after > 0)
    broken.push(`${result.refusals.without_retry_after} refusals without Retry-After`);
  if (result.refusals.without_problem_json > 0)
    broken.push(`${result.refusals.without_problem_json} refusals without problem+json`);
  if (lost > 0) broken.push(`${lost} accepted orders lost`);
  if (broken.length > 0) {
    console.error(`\nbench/overload: ${broken.join('; ')}`);
    // Outside smoke mode these are findings to report, not a broken bench (except nothing accepted).
    if (smoke || result.calibration.accepted === 0) exitCode = 1;
  }
} catch (error) {
  console.error(`bench/overload failed: ${(error as Error).stack ?? error}`);
  exitCode = 1;
} finally {
  await platform.stop();
}
process.exit(exitCode);
