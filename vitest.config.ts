import { defineConfig } from 'vitest/config';
import { ChaosSequencer } from './src/harness/sequencer.ts';
import { ScoreboardReporter } from './src/reporters/index.ts';

export default defineConfig({
  test: {
    reporters: ['default', new ScoreboardReporter({ projects: ['chaos'] })],
    // Chaos suites run in file-name order; a project-level sequencer is not used by Vitest.
    sequence: { sequencer: ChaosSequencer },
    projects: [
      {
        test: {
          name: 'test',
          include: ['test/**/*.test.ts'],
          testTimeout: 120_000,
          hookTimeout: 120_000,
        },
      },
      {
        test: {
          name: 'chaos',
          include: ['chaos/**/*.chaos.ts'],
          globalSetup: ['src/campaign/global-setup.ts'],
          // Chaos suites share one stack: one file at a time, in file-name order, never retried.
          fileParallelism: false,
          retry: 0,
          testTimeout: 30 * 60_000,
          hookTimeout: 30 * 60_000,
        },
      },
    ],
  },
});
