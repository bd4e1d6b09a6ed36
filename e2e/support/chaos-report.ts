import { mkdir, writeFile } from 'node:fs/promises';
import { loadavg } from 'node:os';
import path from 'node:path';
import type { Calibration } from './chaos-calibration.ts';
import { repositoryRoot } from './platform-process.ts';
import type { OrderJson, ShopClient } from './shop-client.ts';

/**
 * The shop's own refusals (the provider declined, stock ran out, the carrier refused or lost the
 * parcel): outcomes a customer would get on a quiet day too, so not counted against goodput.
 */
export const shopRefusals = new Set(['payment_declined', 'stock_unavailable', 'shipping_failed']);

/** One order a client offered during the faults, and how it ended (as far as the test saw). */
/** A refusal that is not the shop being unavailable (a 4xx other than 409) is a bug, not a fault. */
export const refusedForGood = <T extends { status: number }>(refused: readonly T[]): T[] =>
  refused.filter((order) => order.status >= 400 && order.status < 500 && order.status !== 409);

/** Every order offered, as the report counts it: the accepted with their final state, the rest refused. */
export const offeredOrders = (
  accepted: readonly { orderId: string; offeredAt: number }[],
  refused: readonly { offeredAt: number; status: number }[],
  finalOf: (orderId: string) => OrderJson | undefined,
): OfferedOrder[] => [
  ...accepted.map((order) => ({ offeredAt: order.offeredAt, final: finalOf(order.orderId) })),
  ...refused.map((order) => ({ offeredAt: order.offeredAt, refusedStatus: order.status })),
];

export interface OfferedOrder {
  /** When the client first tried to place it (ms since the epoch). */
  offeredAt: number;
  /** Its final state, when it was accepted and read afterwards. */
  final?: OrderJson;
  /** The HTTP status it was refused with for good (0: no answer), when it was never accepted. */
  refusedStatus?: number;
}

export interface GoodputInput {
  /** The test's name in file names: `orders`, `lifecycle`. */
  test: string;
  /** The status an order should end in: `confirmed` (PlaceOrder) or `delivered` (the whole life). */
  goal: string;
  calibration: Calibration;
  offeredPerSecond: number;
  faultSeconds: number;
  killEveryMs: number;
  kills: Record<string, number>;
  offered: OfferedOrder[];
  clientRetries: number;
  faultsStoppedAt: number;
  /** When the test saw every order terminal, after the faults stopped (ms), or null if it never did. */
  settledAfterFaultsMs: number | null;
  /** Each safety check's count of violations (0 is the only passing value). */
  safety: Record<string, number>;
}

export interface GoodputReport {
  test: string;
  bus: 'postgres' | 'nats';
  /** The Node version the platform ran on (every service runs on the Node that runs the test). */
  node: string;
  goal: string;
  calibration: Calibration;
  offered_per_s: number;
  fault_seconds: number;
  kill_every_ms: number;
  kills: number;
  kills_by_victim: Record<string, number>;
  offered: number;
  accepted: number;
  refused: number;
  client_retries: number;
  reached_goal: number;
  shop_refusals: Record<string, number>;
  /** reached_goal / (offered − shop refusals). */
  goodput: number;
  placed_to_terminal_ms: { p50: number; p99: number; max: number };
  offered_to_terminal_ms: { p50: number; p99: number; max: number };
  /** When the last order became terminal, after the faults stopped (from the orders' own timestamps). */
  last_terminal_after_faults_ms: number;
  settled_after_faults_ms: number | null;
  outcomes: Record<string, number>;
  /** The orders that neither reached the goal nor were refused by the shop, by why. */
  rest: Record<string, number>;
  /** A few order ids per reason of the rest, to look up (`GET /admin/sagas/<order id>` on order). */
  rest_examples: Record<string, string[]>;
  /** For the first example of each reason of the rest: its saga's inputs, as offsets from its start. */
  rest_timelines?: Record<string, string>;
  safety: Record<string, number>;
  /** The machine's 1-minute load average when the faults stopped (2 cores: above 2 is contention). */
  load_average: number;
  wall_s?: number;
}

export const busName = (): 'postgres' | 'nats' => (process.env.MERCATO_BUS === 'nats' ? 'nats' : 'postgres');

/** Nearest-rank percentile. */
export const percentile = (values: readonly number[], p: number): number => {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return Math.round(sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)] as number);
};

const spread = (values: readonly number[]) => ({
  p50: percentile(values, 50),
  p99: percentile(values, 99),
  max: values.length === 0 ? 0 : Math.round(Math.max(...values)),
});

const count = (counts: Record<string, number>, key: string) => {
  counts[key] = (counts[key] ?? 0) + 1;
};

const terminalStatuses = new Set(['confirmed', 'shipped', 'delivered', 'cancelled', 'failed']);

/** Goodput and latency of a crash test's orders, with the reasons of those that did not get through. */
export function goodputReport(input: GoodputInput): GoodputReport {
  const outcomes: Record<string, number> = {};
  const rest: Record<string, number> = {};
  const restExamples: Record<string, string[]> = {};
  const refusals: Record<string, number> = {};
  const placedToTerminal: number[] = [];
  const offeredToTerminal: number[] = [];
  let reached = 0;
  let lastTerminal = 0;
  for (const order of input.offered) {
    const final = order.final;
    if (!final) {
      const label = `refused:${order.refusedStatus ?? 'unknown'}`;
      count(outcomes, label);
      count(rest, label);
      continue;
    }
    count(outcomes, final.reason ? `${final.status}:${final.reason}` : final.status);
    const ended = Date.parse(final.updated_at);
    if (terminalStatuses.has(final.status)) {
      placedToTerminal.push(ended - Date.parse(final.placed_at));
      offeredToTerminal.push(ended - order.offeredAt);
      lastTerminal = Math.max(lastTerminal, ended);
    }
    if (final.status === input.goal) reached += 1;
    else if (final.reason && shopRefusals.has(final.reason)) count(refusals, final.reason);
    else {
      const why = `${final.status}${final.reason ? `:${final.reason}` : ''}${final.reason_detail ? ` (${final.reason_detail})` : ''}`;
      count(rest, why);
      const examples = restExamples[why] ?? [];
      if (examples.length < 5) restExamples[why] = [...examples, final.order_id];
    }
  }
  const refusedByShop = Object.values(refusals).reduce((sum, n) => sum + n, 0);
  const denominator = input.offered.length - refusedByShop;
  const accepted = input.offered.filter((order) => order.final).length;
  return {
    test: input.test,
    bus: busName(),
    node: process.version,
    goal: input.goal,
    calibration: input.calibration,
    offered_per_s: Number(input.offeredPerSecond.toFixed(2)),
    fault_seconds: input.faultSeconds,
    kill_every_ms: input.killEveryMs,
    kills: Object.values(input.kills).reduce((sum, n) => sum + n, 0),
    kills_by_victim: input.kills,
    offered: input.offered.length,
    accepted,
    refused: input.offered.length - accepted,
    client_retries: input.clientRetries,
    reached_goal: reached,
    shop_refusals: refusals,
    goodput: denominator > 0 ? reached / denominator : 0,
    placed_to_terminal_ms: spread(placedToTerminal),
    offered_to_terminal_ms: spread(offeredToTerminal),
    last_terminal_after_faults_ms: Math.max(0, lastTerminal - input.faultsStoppedAt),
    settled_after_faults_ms: input.settledAfterFaultsMs,
    outcomes,
    rest,
    rest_examples: restExamples,
    safety: input.safety,
    load_average: Number(loadavg()[0]?.toFixed(2)),
  };
}

const seconds = (ms: number) => `${(ms / 1000).toFixed(1)} s`;

/** The report as a table for the test's output. */
export function formatReport(report: GoodputReport): string {
  const { calibration: c } = report;
  const refused = Object.entries(report.shop_refusals)
    .map(([reason, n]) => ` − ${n} ${reason}`)
    .join('');
  const timing = (label: string, t: GoodputReport['placed_to_terminal_ms']) =>
    `  ${label.padEnd(26)}p50 ${seconds(t.p50)}, p99 ${seconds(t.p99)}, max ${seconds(t.max)}`;
  return [
    `${report.test} crash test on the ${report.bus === 'nats' ? 'NATS JetStream' : 'PostgreSQL message store'} bus, on Node ${report.node}`,
    `  calibration (no faults)   ${c.orders} orders by ${c.clients} closed-loop clients in ${c.seconds.toFixed(1)} s: ${c.confirmed} confirmed = ${c.confirmed_per_s.toFixed(2)} confirmed/s`,
    `  load average              ${c.load_average} after the calibration, ${report.load_average} after the faults`,
    `  offered                   ${report.offered} at ${report.offered_per_s}/s (half of that) over ${report.fault_seconds} s of faults`,
    `  kills                     ${report.kills}, one every ${report.kill_every_ms / 1000} s: ${JSON.stringify(report.kills_by_victim)}`,
    `  accepted                  ${report.accepted} (client retries ${report.client_retries}, refused for good ${report.refused})`,
    `  goodput (${report.goal})`.padEnd(28) +
      `${(report.goodput * 100).toFixed(1)} % = ${report.reached_goal} / (${report.offered} offered${refused})`,
    timing('placed → terminal', report.placed_to_terminal_ms),
    timing('offered → terminal', report.offered_to_terminal_ms),
    `  terminal after the faults last order ${seconds(report.last_terminal_after_faults_ms)}; all seen ${report.settled_after_faults_ms === null ? 'never' : seconds(report.settled_after_faults_ms)}`,
    `  the rest                  ${JSON.stringify(report.rest)}`,
    ...Object.entries(report.rest_timelines ?? {}).map(([why, timeline]) => `    ${why}: ${timeline}`),
    `  outcomes                  ${JSON.stringify(report.outcomes)}`,
    `  safety (0 each)           ${JSON.stringify(report.safety)}`,
  ].join('\n');
}

/** Writes the report to e2e/chaos/results/<test>-<bus>.json (git-ignored) and returns its path. */
export async function writeReport(report: GoodputReport): Promise<string> {
  const directory = path.join(repositoryRoot, 'e2e', 'chaos', 'results');
  await mkdir(directory, { recursive: true });
  const file = path.join(directory, `${report.test}-${report.bus}.json`);
  await writeFile(file, `${JSON.stringify(report, null, 2)}\n`);
  return file;
}

interface SagaLogEntry {
  at: string;
  input: string;
  requestId: string | null;
  outcome: string;
  status: string;
  detail: { sent?: { request_id: string; type: string }[]; reason?: string } | null;
}

/** `+13.9s reply 1:invoke:1 applied → running, sent payment.charge 1:invoke:1`, ids shortened. */
const logLine = (entry: SagaLogEntry, start: number, sagaId: string): string => {
  const short = (id: string | null | undefined) => (id ?? '').replace(`${sagaId}:`, '');
  const sent = (entry.detail?.sent ?? []).map((command) => `${command.type} ${short(command.request_id)}`);
  const reason = entry.detail?.reason;
  return [
    `+${((Date.parse(entry.at) - start) / 1000).toFixed(1)}s ${entry.input}`,
    entry.requestId ? ` ${short(entry.requestId)}` : '',
    ` ${entry.outcome} → ${entry.status}`,
    sent.length > 0 ? `, sent ${sent.join(', ')}` : '',
    reason ? ` (${reason})` : '',
  ].join('');
};

/**
 * What happened to the first order of each reason of the rest, from its saga's log on the order
 * service (`GET /admin/sagas/<id>`): every start, reply, resend and timeout with when it came, so a
 * report says which step waited and for how long, not only that it timed out.
 */
export async function addSagaTimelines(
  shop: ShopClient,
  report: GoodputReport,
  sagaOf: (orderId: string) => string | undefined,
): Promise<void> {
  const timelines: Record<string, string> = {};
  for (const [why, [orderId]] of Object.entries(report.rest_examples)) {
    const sagaId = orderId && sagaOf(orderId);
    if (!sagaId) continue;
    try {
      const { history } = (await shop.admin('order', `/admin/sagas/${encodeURIComponent(sagaId)}`)) as {
        history: SagaLogEntry[];
      };
      const start = Date.parse(history[0]?.at ?? '');
      timelines[why] = `${sagaId}: ${history.map((entry) => logLine(entry, start, sagaId)).join('; ')}`;
    } catch (error) {
      timelines[why] = `${sagaId}: ${(error as Error).message}`;
    }
  }
  report.rest_timelines = timelines;
}
