const unitMs: Record<string, number> = { H: 3_600_000, M: 60_000, S: 1_000, m: 1, u: 0.001, n: 0.000_001 };

/**
 * Reads the `grpc-timeout` header (gRPC over HTTP/2 spec: up to 8 digits and a unit) or Connect's
 * `connect-timeout-ms`. Connect enforces the timeout itself; we read it to learn the deadline
 * that outgoing calls must respect.
 */
export function timeoutFromHeaders(headers: Headers): number | undefined {
  const grpc = headers.get('grpc-timeout');
  if (grpc) {
    const match = /^(\d{1,8})([HMSmun])$/.exec(grpc);
    const unit = match?.[2];
    if (match && unit) return Number(match[1]) * (unitMs[unit] ?? 1);
  }
  const connect = headers.get('connect-timeout-ms');
  if (connect && /^\d{1,10}$/.test(connect)) return Number(connect);
  return undefined;
}
