import { Code, ConnectError, type UnaryRequest, type UnaryResponse } from '@connectrpc/connect';
import { describe, expect, it } from 'vitest';
import { faultInterceptor } from './fault-interceptor.ts';

const request = {} as UnaryRequest;
const answered = { message: 'ok' } as unknown as UnaryResponse;

describe('injected faults (a deliberately bad version)', () => {
  it('fails the configured share of calls with INTERNAL and lets the rest through', async () => {
    let draw = 0;
    // Draws 0.00, 0.01 … 0.99: exactly 30 of 100 fall under 30 %.
    const handle = faultInterceptor(
      { errorPercent: 30, latencyMs: 0 },
      () => (draw++ % 100) / 100,
    )(async () => answered);
    const outcomes = await Promise.all(
      Array.from({ length: 100 }, () =>
        handle(request).then(
          () => 'ok',
          (error: unknown) => ConnectError.from(error).code,
        ),
      ),
    );
    expect(outcomes.filter((outcome) => outcome === Code.Internal)).toHaveLength(30);
    expect(outcomes.filter((outcome) => outcome === 'ok')).toHaveLength(70);
  });

  it('adds the configured latency to every call', async () => {
    const handle = faultInterceptor({ errorPercent: 0, latencyMs: 60 })(async () => answered);
    const began = performance.now();
    await handle(request);
    expect(performance.now() - began).toBeGreaterThanOrEqual(55);
  });
});
