import { defineConfig } from 'vitest/config';

// Three suites: unit (pure, fast), integration (real PostgreSQL and friends; skipped with a reason
// when absent unless MERCATO_REQUIRE_INFRA=1) and e2e (the whole platform as real processes).

const UNIT = ['{packages,services,apps}/*/src/**/*.test.ts', 'e2e/support/*.test.ts'];
const INTEGRATION = [
  '{packages,services,apps}/*/src/**/*.int.test.ts',
  '{packages,services,apps}/*/test/**/*.test.ts',
];

/**
 * Tests that register a tracer provider process-wide and take it away again. The chassis takes its
 * tracers once, when a module loads, and OpenTelemetry's proxy tracer keeps the first provider it
 * delegated to: in a module graph shared with an earlier such file, a later one records nothing.
 * They run isolated (each file imports everything again); the rest of each suite shares one graph.
 */
const UNIT_TRACING = [
  'packages/chassis/src/discovery/registry-watch-spans.test.ts',
  'packages/chassis/src/http-client/json-http-client.test.ts',
  'packages/chassis/src/http/error-spans.test.ts',
  'packages/chassis/src/telemetry/tracing-sdk.test.ts',
];
const INTEGRATION_TRACING = [
  'packages/chassis/test/consumer-spans.test.ts',
  'packages/chassis/test/query-spans.test.ts',
];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: UNIT,
          exclude: ['**/*.int.test.ts', '**/node_modules/**', ...UNIT_TRACING],
          // Pure code: the files share one module graph instead of importing it again each (on two
          // cores, 60 s of wall and 65 s of CPU for the suite isolated, 17 s and 12.5 s not).
          isolate: false,
        },
      },
      {
        test: { name: 'unit-isolated', include: UNIT_TRACING, isolate: true },
      },
      {
        test: {
          // The Kubernetes manifests rendered by kubectl kustomize and validated offline (deploy/k8s).
          name: 'manifests',
          include: ['deploy/k8s/**/*.test.ts'],
          // Validating an overlay's objects compiles their schemas first: seconds of CPU, which the
          // suites beside it in `npm test` stretched past the default 5 s once in CI.
          testTimeout: 30_000,
        },
      },
      {
        test: {
          name: 'integration',
          include: INTEGRATION,
          exclude: ['**/node_modules/**', ...INTEGRATION_TRACING],
          testTimeout: 30_000,
          hookTimeout: 60_000,
          // One module graph for all files, as for unit: its imports were a fifth of the suite's time.
          isolate: false,
        },
      },
      {
        test: {
          name: 'integration-isolated',
          include: INTEGRATION_TRACING,
          testTimeout: 30_000,
          hookTimeout: 60_000,
          isolate: true,
        },
      },
      {
        test: {
          name: 'e2e',
          include: ['e2e/**/*.e2e.test.ts'],
          globalSetup: ['e2e/support/build-services.ts'],
          testTimeout: 90_000,
          // Above the 90 s most suites give a platform to be ready, so that wait's own error (the
          // supervisor's last lines: why it is not ready) is the one reported, not the hook's.
          hookTimeout: 120_000,
          // One platform at a time: each test file runs a whole shop with its own ports. Vitest runs
          // such a project after all others, so `npm test` runs it in a process of its own beside
          // the unit and integration suites (e2e/support/side-by-side.ts).
          fileParallelism: false,
        },
      },
      {
        test: {
          // Real Chromium (Debian's) driven by playwright-core against one platform for every file.
          name: 'browser',
          include: ['e2e/browser/**/*.browser.test.ts'],
          globalSetup: ['e2e/browser/support/browser-platform.ts'],
          testTimeout: 120_000,
          hookTimeout: 180_000,
          fileParallelism: false,
        },
      },
      {
        test: {
          name: 'chaos',
          include: ['e2e/**/*.chaos.test.ts'],
          globalSetup: ['e2e/support/build-services.ts'],
          testTimeout: 600_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
