import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';

// Suffixes tell tests apart (docs/testing.md): *.unit.test.ts (pure, no I/O), *.tools.test.ts (the
// repository's files checked by running a tool: bash, git, Docker Compose, kubectl, promtool, erl),
// *.int.test.ts (one service against the real broker and database, each file in its own vhost and
// database), *.e2e.test.ts (all four services as real processes).
export default defineConfig({
  resolve: {
    // The test helpers are used from source: they import vitest itself, which their CommonJS build cannot.
    alias: {
      '@troupe/testing': fileURLToPath(new URL('./shared/testing/src/index.ts', import.meta.url)),
      '@troupe/service-harness': fileURLToPath(new URL('./shared/service-harness/src/index.ts', import.meta.url)),
    },
  },
  test: {
    // Runs once for all projects: finds (or starts) the broker and the database.
    globalSetup: ['./shared/testing/src/global-setup.ts'],
    // The contract coverage reporter prints how much of docs/contracts the e2e suites saw.
    reporters: [
      'default',
      './e2e/support/contract-coverage-reporter.ts',
      ...(process.env.CI ? [['json', { outputFile: `.test-results/${process.env.VITEST_RESULTS ?? 'results'}.json` }] as const] : []),
    ],
    projects: [
      {
        extends: true,
        test: {
          name: 'unit',
          include: ['**/*.unit.test.ts'],
          exclude: ['**/node_modules/**', '**/dist/**'],
        },
      },
      {
        extends: true,
        test: {
          name: 'tools',
          include: ['test/**/*.tools.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'int',
          include: ['services/*/test/**/*.int.test.ts', 'shared/*/test/**/*.int.test.ts', 'test/**/*.int.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['e2e/**/*.e2e.test.ts'],
          // Every answer and message the suites see is checked against docs/contracts (see the file).
          setupFiles: ['./e2e/support/contract-setup.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
      {
        // Fault injection: kills processes, cuts connections, stops the broker. Run alone, after
        // the other projects (`make test` runs it as a second vitest invocation).
        extends: true,
        test: {
          name: 'faults',
          include: ['e2e/**/*.fault.test.ts'],
          testTimeout: 240_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
