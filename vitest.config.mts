import { defineConfig } from 'vitest/config';

// Suffixes tell tests apart (STYLE.md): *.unit.test.ts (pure, no I/O), *.int.test.ts (one service
// against the real broker and database, each file in its own vhost and database), *.e2e.test.ts
// (all four services as real processes).
export default defineConfig({
  test: {
    // Runs once for all projects: finds (or starts) the broker and the database.
    globalSetup: ['./shared/testing/src/global-setup.ts'],
    reporters: process.env.CI ? ['default', ['json', { outputFile: '.test-results/results.json' }]] : ['default'],
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
          name: 'int',
          include: ['services/*/test/**/*.int.test.ts', 'shared/*/test/**/*.int.test.ts'],
          testTimeout: 30_000,
          hookTimeout: 60_000,
        },
      },
      {
        extends: true,
        test: {
          name: 'e2e',
          include: ['e2e/**/*.e2e.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
