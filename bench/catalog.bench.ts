// Runs the ten-experiment catalog on the embedded stack in the quick profile, once, and prints
// its wall time, the share of it spent in cooldowns, and the reference pipeline's MTTD.
// Usage: npx tsx bench/catalog.bench.ts  (about 6 minutes on 2 cores; needs root and the tools
// that `npm run setup` installs)
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { formatDuration } from '../src/harness/duration.ts';
import type { ExperimentRecord } from '../src/harness/record.ts';

const ROOT = join(import.meta.dirname, '..');
const TIMEOUT_MS = 20 * 60_000;

function nearestRank(values: number[], percent: number): number | undefined {
  if (values.length === 0) return undefined;
  const sorted = [...values].sort((left, right) => left - right);
  return sorted[Math.max(0, Math.ceil((percent / 100) * sorted.length) - 1)];
}

function main(): void {
  const resultsDir = mkdtempSync(join(tmpdir(), 'chaos-bench-catalog-'));
  const startedAtMs = performance.now();
  const run = spawnSync(
    process.execPath,
    [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', 'chaos/'],
    {
      cwd: ROOT,
      env: {
        ...process.env,
        CHAOS_PROFILE: 'quick',
        CHAOS_RESULTS_DIR: resultsDir,
        CHAOS_GATE: 'off',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
      timeout: TIMEOUT_MS,
    },
  );
  const wallMs = performance.now() - startedAtMs;
  try {
    const results = JSON.parse(readFileSync(join(resultsDir, 'chaos_results.json'), 'utf8')) as {
      experiments: { record: ExperimentRecord }[];
    };
    const records = results.experiments.map((entry) => entry.record);
    const cooldownMs = records.reduce((sum, record) => sum + (record.cooldown?.waitedMs ?? 0), 0);
    const mttds = records.flatMap((record) =>
      record.detection.mttdMs === undefined ? [] : [record.detection.mttdMs],
    );
    const p50 = nearestRank(mttds, 50);
    const p95 = nearestRank(mttds, 95);
    const show = (ms: number | undefined): string =>
      ms === undefined ? 'n/a' : formatDuration(ms);
    console.log(`catalog wall time: ${formatDuration(wallMs)} (exit code ${run.status})`);
    console.log(`experiments: ${records.length}, detected ${mttds.length}`);
    console.log(
      `cooldowns: ${formatDuration(cooldownMs)}, ${((cooldownMs / wallMs) * 100).toFixed(1)}% of the wall time`,
    );
    console.log(`reference pipeline MTTD p50 ${show(p50)}, p95 ${show(p95)}`);
    console.log(
      `SUMMARY catalog: wall ${formatDuration(wallMs)} (aim < 5m), cooldown share ` +
        `${((cooldownMs / wallMs) * 100).toFixed(1)}%, detected ${mttds.length}/${records.length}, ` +
        `MTTD p50 ${show(p50)} p95 ${show(p95)}`,
    );
  } finally {
    rmSync(resultsDir, { recursive: true, force: true });
  }
}

main();
