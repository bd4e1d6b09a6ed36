import { defineConfig } from 'vitest/config';

// Three suites: unit (pure, fast), integration (real PostgreSQL and friends; skipped with a reason
// when absent unless MERCATO_REQUIRE_INFRA=1) and e2e (the whole platform as real processes).
export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['{packages,services,apps}/*/src/**/*.test.ts', 'e2e/support/*.test.ts'],
          exclude: ['**/*.int.test.ts', '**/node_modules/**'],
        },
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
          include: [
            '{packages,services,apps}/*/src/**/*.int.test.ts',
            '{packages,services,apps}/*/test/**/*.test.ts',
          ],
          testTimeout: 30_000,
          hookTimeout: 60_000,
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
