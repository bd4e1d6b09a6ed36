import { describe, expect, it } from 'vitest';
import { criticalPath } from './critical-path.ts';
import type { StoredSpan } from './span.ts';

const span = (spanId: string, parentSpanId: string, startMs: number, durationMs: number): StoredSpan => ({
  traceId: 't',
  spanId,
  parentSpanId,
  service: 's',
  name: spanId,
  kind: 'internal',
  startMs,
  durationMs,
  status: 'unset',
  statusMessage: '',
  attributes: {},
  events: [],
});

describe('criticalPath', () => {
  it('follows the child that finished last, and the parent around its children', () => {
    // root 0–100 with children a (10–40) and b (20–90, itself waiting on b1 30–50): b ends last, so
    // a, which ended while b ran, is off the path.
    const sections = criticalPath([
      span('root', '', 0, 100),
      span('a', 'root', 10, 30),
      span('b', 'root', 20, 70),
      span('b1', 'b', 30, 20),
    ]);
    expect(sections).toEqual([
      { spanId: 'root', startMs: 0, endMs: 20 },
      { spanId: 'b', startMs: 20, endMs: 30 },
      { spanId: 'b1', startMs: 30, endMs: 50 },
      { spanId: 'b', startMs: 50, endMs: 90 },
      { spanId: 'root', startMs: 90, endMs: 100 },
    ]);
  });

  it('ends a trace where its last span ended, when a consumer outlives the request that published', () => {
    const sections = criticalPath([
      span('request', '', 0, 10),
      span('publish', 'request', 2, 3),
      span('consume', 'publish', 50, 20),
    ]);
    expect(sections.at(-1)).toEqual({ spanId: 'consume', startMs: 50, endMs: 70 });
    expect(sections.map((section) => section.spanId)).toEqual(['request', 'publish', 'consume']);
  });

  it('survives zero-length spans and a parent cycle', () => {
    expect(criticalPath([span('a', '', 0, 0), span('b', 'a', 0, 0)])).toEqual([]);
    expect(criticalPath([span('a', 'b', 0, 10), span('b', 'a', 5, 10)]).length).toBeGreaterThan(0);
  });
});
