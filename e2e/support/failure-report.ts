/**
 * The part of a vitest run's output that says what failed: its "Failed Tests" and "Unhandled
 * Errors" sections and the summary after them, without colour codes. When the run printed neither
 * (it crashed or was killed), its last lines.
 */
import { stripVTControlCharacters } from 'node:util';

const SECTION = /⎯+ (Failed (Tests|Suites)|Unhandled (Errors|Rejection))/;
const MAX_LINES = 400;

export function failureReport(output: string): string {
  const lines = stripVTControlCharacters(output).split('\n');
  const first = lines.findIndex((line) => SECTION.test(line));
  const report = first === -1 ? lines.slice(-40) : lines.slice(first);
  if (report.length <= MAX_LINES) return report.join('\n');
  return [...report.slice(0, MAX_LINES), `… ${report.length - MAX_LINES} more lines cut`].join('\n');
}
