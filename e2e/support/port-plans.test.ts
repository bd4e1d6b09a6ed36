import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

/**
 * CI runs the browser suite beside the e2e suite (`MERCATO_TEST_AFTER_UNIT` in .ci/run) and the
 * benchmarks' smoke mode two at a time: a platform one of them starts must not want a port another
 * holds. Each declares its ports in one literal (`{ postgres, gateway, base, grpcBase, … }`); a
 * platform takes its supervisor's port just below `base` and one port a process from `base` and
 * `grpcBase` up (PORT_SPAN covers fifteen services, several instances and the releases' extra ones).
 * bench/gateway takes eleven ports from its BENCH_PORT_BASE. The benchmarks are checked against the
 * e2e suites too, so that one can run while the suites do (bench/gateway and bench/web could not).
 */
const root = fileURLToPath(new URL('../..', import.meta.url));
const PORT_SPAN = 60;

type Range = [number, number];

function filesUnder(folder: string, pattern: RegExp): string[] {
  return readdirSync(path.join(root, folder), { recursive: true, encoding: 'utf8' })
    .filter((file) => pattern.test(file) && !file.includes('node_modules') && !file.includes('results'))
    .map((file) => path.join(folder, file));
}

/** The ports each literal of `{ postgres: …, gateway: …, base: …, grpcBase: … }` (or of a lone `gateway` or `http` port) in a file holds. */
function portRanges(file: string): Range[] {
  const text = readFileSync(path.join(root, file), 'utf8');
  const ranges: Range[] = [];
  for (const literal of text.matchAll(/\{[^{}]*\b(?:postgres|gateway|http):\s*\d{4,5}[^{}]*\}/g))
    for (const [, key, value] of literal[0].matchAll(/(\w+):\s*(\d{4,5})\b/g)) {
      const port = Number(value);
      if (key === 'base') ranges.push([port - 1, port + PORT_SPAN]);
      else if (key === 'grpcBase') ranges.push([port, port + PORT_SPAN]);
      else ranges.push([port, port]);
    }
  const gatewayBase = /setting\('BENCH_PORT_BASE', (\d+)/.exec(text)?.[1];
  if (gatewayBase) ranges.push([Number(gatewayBase), Number(gatewayBase) + 10]);
  const fixed = /const PROMETHEUS_PORT = (\d+)/.exec(text)?.[1];
  if (fixed) ranges.push([Number(fixed), Number(fixed)]);
  for (const [, port] of text.matchAll(/MERCATO_SUPERVISOR_PORT: '(\d+)'/g))
    ranges.push([Number(port), Number(port)]);
  return ranges;
}

const overlap = (a: Range[], b: Range[]) =>
  a.flatMap((x) =>
    b.filter((y) => x[0] <= y[1] && y[0] <= x[1]).map((y) => `${x.join('–')} and ${y.join('–')}`),
  );

describe('port plans of the suites and benchmarks', () => {
  const benches = filesUnder('bench', /^[\w-]+\/main\.ts$/).map((file) => ({
    file,
    ranges: portRanges(file),
  }));
  const suites = [
    ...filesUnder('e2e', /\.(e2e|chaos)\.test\.ts$/),
    ...filesUnder('e2e', /(^|\/)(attack-suite|security[\w-]*)\.ts$/),
  ].map((file) => ({ file, ranges: portRanges(file) }));
  const browser = {
    file: 'e2e/browser/support/browser-platform.ts',
    ranges: portRanges('e2e/browser/support/browser-platform.ts'),
  };
  // The data template's platform starts in the e2e and chaos suites' global setup, which may run
  // while the browser suite or another run's suites hold their platforms.
  const template = {
    file: 'e2e/support/platform-template.ts',
    ranges: portRanges('e2e/support/platform-template.ts'),
  };

  it('finds the port literals it checks (a bench or suite whose ports it cannot read fails here)', () => {
    expect(benches.filter((bench) => bench.ranges.length > 0).length).toBeGreaterThanOrEqual(8);
    expect(suites.filter((suite) => suite.ranges.length > 0).length).toBeGreaterThanOrEqual(20);
  });

  it('gives no benchmark a port of an e2e suite, nor of another benchmark', () => {
    const clashes: string[] = [];
    for (const bench of benches) {
      for (const suite of suites)
        for (const clash of overlap(bench.ranges, suite.ranges))
          clashes.push(`${bench.file} / ${suite.file}: ${clash}`);
      for (const other of benches)
        if (other.file > bench.file)
          for (const clash of overlap(bench.ranges, other.ranges))
            clashes.push(`${bench.file} / ${other.file}: ${clash}`);
    }
    expect(clashes).toEqual([]);
  });

  it("gives the browser suite's platform no port of an e2e suite or a benchmark", () => {
    expect(browser.ranges.length).toBeGreaterThan(0);
    const clashes = [...suites, ...benches].flatMap((other) =>
      overlap(browser.ranges, other.ranges).map((clash) => `${other.file}: ${clash}`),
    );
    expect(clashes).toEqual([]);
  });

  it("gives the data template's platform no port of an e2e suite, the browser suite or a benchmark", () => {
    expect(template.ranges.length).toBeGreaterThan(0);
    const clashes = [...suites, ...benches, browser].flatMap((other) =>
      overlap(template.ranges, other.ranges).map((clash) => `${other.file}: ${clash}`),
    );
    expect(clashes).toEqual([]);
  });
});
