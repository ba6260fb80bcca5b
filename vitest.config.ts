import { defineConfig } from 'vitest/config';
import { ChaosSequencer } from './src/harness/sequencer.ts';
import { ScoreboardReporter } from './src/reporters/index.ts';

/**
 * Tests that change or inspect state shared by the whole machine (iptables, cgroups, mounts, the
 * Docker engine, whole stacks and campaigns, CPU-sensitive measurements). They run one file at a
 * time after the other tests, so that one file's fault is never another file's leftover.
 */
const HOST_TESTS = [
  'test/network/iptables-driver.test.ts',
  'test/network/embedded-stack.test.ts',
  'test/docker/**/*.test.ts',
  'test/stack/**/*.test.ts',
  'test/process/**/*.test.ts',
  'test/campaign/**/*.test.ts',
];

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
          exclude: ['**/node_modules/**', ...HOST_TESTS],
          testTimeout: 120_000,
          hookTimeout: 120_000,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          name: 'test-host',
          include: HOST_TESTS,
          fileParallelism: false,
          testTimeout: 180_000,
          hookTimeout: 180_000,
          sequence: { groupOrder: 1 },
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
          sequence: { groupOrder: 2 },
        },
      },
    ],
  },
});
