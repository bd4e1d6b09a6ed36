/**
 * bench/web: what the web face costs.
 *
 * 1. The storefront entry's JavaScript (entry plus static imports), gzipped, against React and
 *    ReactDOM's own production builds (the floor under any React page); target ≤ 200 KB.
 * 2. Largest Contentful Paint of the catalog page in headless Chromium (Debian's) against a running
 *    platform, cold cache, BENCH_LCP_RUNS times, against the same catalog page's data fetched by
 *    the bench itself from the gateway in the same run (the API time the page stands on); target ≤ 1 s.
 * 3. The supervisor's span store fed BENCH_SPAN_SECONDS (600) of BENCH_SPAN_RATE (100) requests/s,
 *    seven spans each: its heap (target ≤ 100 MB) and query times (target ≤ 100 ms), against one
 *    plain pass over every kept span (the floor under a query without an index).
 *
 * 4. Receiving spans: the SDK's own protobuf batches decoded by the supervisor, against the SDK
 *    serializing them (what each service pays to send them).
 *
 * Ports: gateway 19990, services 16901…, gRPC 17901…, PostgreSQL 25409, supervisor 16999.
 * `BENCH_SKIP_LCP=1` measures 1 and 3 only (no platform). `BENCH_SMOKE=1`: one LCP run, 10 s of
 * spans, 100 traces decoded (does it still run?). Writes bench/results/web.json.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';
import { buildWebIfStale } from '../../apps/cli/src/build/web-build.ts';
import { PlatformProcess } from '../../e2e/support/platform-process.ts';
import { platformDataDir } from '../../e2e/support/platform-template.ts';
import { Breakage, setting, smoke } from '../smoke-mode.ts';
import { entryJavaScript, reactRuntimeGzipBytes } from './bundle-size.ts';
import { measureOtlpIngest } from './otlp-ingest.ts';
import { largestContentfulPaint } from './page-lcp.ts';
import { measureSpanStore } from './span-store-load.ts';

const root = fileURLToPath(new URL('../..', import.meta.url));
const broken = new Breakage();
const ports = { postgres: 25409, gateway: 19990, base: 16901, grpcBase: 17901 };
const kb = (bytes: number) => `${(bytes / 1024).toFixed(1)} KB`;
const median = (values: number[]) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)] ?? 0;

await buildWebIfStale(root);
const dist = path.join(root, 'apps/web/dist');
const storefront = entryJavaScript(dist, 'index.html');
const console_ = entryJavaScript(dist, 'ops/index.html');
const react = reactRuntimeGzipBytes(root);

const spanStore = measureSpanStore({
  rate: setting('BENCH_SPAN_RATE', 100, 100),
  seconds: setting('BENCH_SPAN_SECONDS', 600, 10),
  maxBytes: 64 * 1024 * 1024,
});

const ingest = await measureOtlpIngest(setting('BENCH_OTLP_TRACES', 3_000, 100));

let lcp: { runs: number[]; median_ms: number; api_median_ms: number } | undefined;
if (process.env.BENCH_SKIP_LCP !== '1') {
  // From the e2e suites' template of this build when there is one (bench/platform.ts says why).
  const dataDir = await platformDataDir('bench-web');
  const platform = new PlatformProcess(dataDir, ports, { MERCATO_SUPERVISOR_PORT: '16999' });
  const gateway = `http://127.0.0.1:${ports.gateway}`;
  try {
    await platform.waitForLine(/all services ready in/, 180_000);
    const profile = mkdtempSync(path.join(tmpdir(), 'mercato-bench-chromium-'));
    const context = await chromium.launchPersistentContext(profile, {
      executablePath: process.env.MERCATO_CHROMIUM ?? '/usr/bin/chromium',
      headless: true,
      viewport: { width: 1360, height: 900 },
      args: [
        '--no-sandbox',
        '--disable-gpu',
        '--disable-quic',
        '--no-first-run',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
      ],
    });
    // One warm-up load (the services' first calls pay for their JIT), then the measured ones.
    await largestContentfulPaint(context, `${gateway}/`);
    const runs: number[] = [];
    const api: number[] = [];
    for (let run = 0; run < setting('BENCH_LCP_RUNS', 7, 1); run++) {
      runs.push(await largestContentfulPaint(context, `${gateway}/`));
      const began = performance.now();
      const answer = await fetch(`${gateway}/api/storefront/products?page=1&page_size=24`);
      broken.expect(answer.status === 200, `the catalog page's API call answered ${answer.status}`);
      await answer.json();
      api.push(performance.now() - began);
    }
    await context.close();
    rmSync(profile, { recursive: true, force: true });
    lcp = { runs, median_ms: median(runs), api_median_ms: median(api) };
  } finally {
    platform.child.kill('SIGINT');
    await Promise.race([platform.exited(), sleep(20_000, undefined, { ref: false })]);
    rmSync(dataDir, { recursive: true, force: true });
  }
}

const worstQuery = Math.max(...Object.values(spanStore.queries).map((query) => query.p99_ms));
const rows: [string, string, string, string, string][] = [
  [
    'storefront entry JS (gzip)',
    kb(storefront.gzipBytes),
    `React+ReactDOM ${kb(react)}`,
    (storefront.gzipBytes / react).toFixed(2),
    '≤ 200 KB',
  ],
  [
    'ops console entry JS (gzip)',
    kb(console_.gzipBytes),
    `React+ReactDOM ${kb(react)}`,
    (console_.gzipBytes / react).toFixed(2),
    '–',
  ],
  ...(lcp
    ? ([
        [
          'catalog page LCP (median, cold)',
          `${lcp.median_ms.toFixed(0)} ms`,
          `its API call ${lcp.api_median_ms.toFixed(0)} ms`,
          (lcp.median_ms / lcp.api_median_ms).toFixed(1),
          '≤ 1,000 ms',
        ],
      ] as [string, string, string, string, string][])
    : []),
  [
    `span store heap, ${spanStore.requests} requests`,
    `${(spanStore.heap_bytes / 1e6).toFixed(1)} MB`,
    `${spanStore.spans_kept} spans kept`,
    `${Math.round(spanStore.heap_bytes / Math.max(1, spanStore.spans_kept))} B/span`,
    '≤ 100 MB',
  ],
  [
    'OTLP decode at the supervisor',
    `${ingest.decode_us_per_span.toFixed(1)} µs/span`,
    `SDK serialize ${ingest.serialize_us_per_span.toFixed(1)} µs/span`,
    (ingest.decode_us_per_span / ingest.serialize_us_per_span).toFixed(1),
    `${((ingest.decode_us_per_span * 700) / 1e4).toFixed(1)} % of a core at 100 req/s`,
  ],
  [
    'OTLP decode, hand-written vs reflection',
    `${ingest.decode_us_per_span.toFixed(1)} µs/span`,
    `@bufbuild/protobuf ${ingest.reflection_decode_us_per_span.toFixed(1)} µs/span`,
    (ingest.decode_us_per_span / ingest.reflection_decode_us_per_span).toFixed(2),
    'below 1',
  ],
  [
    'trace query, worst p99',
    `${worstQuery.toFixed(1)} ms`,
    `one scan ${spanStore.scan_baseline_p50_ms.toFixed(1)} ms`,
    (worstQuery / Math.max(0.001, spanStore.scan_baseline_p50_ms)).toFixed(1),
    '≤ 100 ms',
  ],
];
console.table(
  rows.map(([measure, value, baseline, ratio, target]) => ({ measure, value, baseline, ratio, target })),
);
console.table(spanStore.queries);

mkdirSync(path.join(root, 'bench/results'), { recursive: true });
writeFileSync(
  path.join(root, 'bench/results/web.json'),
  `${JSON.stringify({ at: new Date().toISOString(), smoke, storefront, console: console_, react_gzip_bytes: react, lcp, span_store: spanStore, otlp_ingest: ingest }, null, 2)}\n`,
);
console.log('written to bench/results/web.json');
broken.expect(storefront.gzipBytes > 0 && react > 0, 'no bundle size');
broken.expect(!lcp || lcp.runs.every((ms) => ms > 0), 'a page load reported no LCP');
broken.expect(
  spanStore.spans_kept > 0 && Number.isFinite(worstQuery),
  'the span store kept or answered nothing',
);
broken.exitIfBroken('web');
