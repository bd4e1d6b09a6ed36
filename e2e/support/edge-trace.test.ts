import { describe, expect, it } from 'vitest';
import { linesForRequests } from './edge-trace.ts';

const line = (requestId: string, message: string, extra: Record<string, unknown> = {}) => ({
  timestamp: '2026-12-04T18:01:25.321Z',
  service: 'gateway',
  request_id: requestId,
  message,
  ...extra,
});

describe('the platform’s lines for failed edge requests', () => {
  it('prints what was logged for the first failed requests, with the gateway’s own duration', () => {
    const lines = [
      line('req-1', 'request rejected', { code: 'GATEWAY.OVERLOADED' }),
      line('req-1', 'request completed', { status: 503, duration_ms: 54_900 }),
      line('req-2', 'request completed', { status: 200, duration_ms: 3 }),
    ];
    const failed = [
      { sentAt: 0, endedAt: 55_000, status: 503, code: 'GATEWAY.OVERLOADED', requestId: 'req-1' },
    ];
    const printed = linesForRequests(lines, failed);
    expect(printed.split('\n')).toHaveLength(2);
    expect(printed).toContain(
      '18:01:25.321 gateway req-1 request completed {"status":503,"duration_ms":54900}',
    );
    expect(printed).not.toContain('req-2');
  });

  it('says so when no answer came from the gateway, or nothing was logged for it', () => {
    expect(linesForRequests([], [{ sentAt: 0, endedAt: 1, status: 0 }])).toMatch(/no answer came/);
    expect(linesForRequests([], [{ sentAt: 0, endedAt: 1, status: 503, requestId: 'req-9' }])).toMatch(
      /nothing logged/,
    );
    expect(linesForRequests([], [])).toBe('');
  });
});
