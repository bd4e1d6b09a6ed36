import { describe, expect, it } from 'vitest';
import { failureReport } from './failure-report.js';

describe('failureReport', () => {
  it('keeps the failed-tests section and the summary, without colour codes', () => {
    const output = [
      ' ✓ e2e/a.e2e.test.ts (3 tests) 100ms',
      '\u001b[31m ❯ e2e/b.e2e.test.ts (2 tests | 1 failed)\u001b[39m',
      '⎯⎯⎯⎯⎯⎯⎯ Failed Tests 1 ⎯⎯⎯⎯⎯⎯⎯',
      ' FAIL  e2e/b.e2e.test.ts > orders > confirms',
      'AssertionError: expected 1 to be 2',
      ' Test Files  1 failed | 1 passed (2)',
    ].join('\n');
    const report = failureReport(output);
    expect(report.split('\n')[0]).toContain('Failed Tests 1');
    expect(report).toContain('FAIL  e2e/b.e2e.test.ts > orders > confirms');
    expect(report).toContain('Test Files  1 failed');
    expect(report).not.toContain('a.e2e.test.ts');
    expect(report).not.toContain('\u001b[');
  });

  it('gives the last lines when vitest printed no section (a crash)', () => {
    const output = Array.from({ length: 100 }, (_, index) => `line ${index}`).join('\n');
    const report = failureReport(output).split('\n');
    expect(report).toHaveLength(40);
    expect(report.at(-1)).toBe('line 99');
  });
});
