/**
 * A trace's draw in [0, 1): its id's first 32 bits, which W3C trace context makes random. Every
 * process computes the same draw for a trace, so a share chosen by it is the same share everywhere:
 * the services' head sampler (under load) and the supervisor's span store (tail) keep the same
 * traces of those they sample by share.
 */
export function traceIdDraw(traceId: string): number {
  return Number.parseInt(traceId.slice(0, 8), 16) / 0x1_0000_0000;
}
