import type { Outcome } from './edge-load.ts';
import type { LogLine } from './platform-process.ts';

/**
 * What the platform logged for the first few failed requests of an edge load, found by the
 * gateway's request id (`x-request-id`, kept in each outcome). The gateway's `request completed`
 * line carries its own `duration_ms`: a failure message then says whether the time went inside the
 * gateway or between it and the test (CI, 4 Dec: reads answered 55 s after they were sent, with
 * nothing in the log to say where).
 */
export function linesForRequests(lines: readonly LogLine[], failed: readonly Outcome[], count = 3): string {
  const ids = new Set(
    failed.slice(0, count).flatMap((outcome) => (outcome.requestId ? [outcome.requestId] : [])),
  );
  if (ids.size === 0) return failed.length === 0 ? '' : '(no request id: no answer came from the gateway)';
  const traced = lines
    .filter((line) => ids.has(String(line.request_id)))
    .map(
      (line) =>
        `${String(line.timestamp).slice(11, 23)} ${String(line.service)} ${String(line.request_id)} ${String(line.message)} ${JSON.stringify({ status: line.status, duration_ms: line.duration_ms, code: line.code, detail: line.detail })}`,
    );
  return traced.length > 0 ? traced.join('\n') : '(nothing logged for them)';
}
