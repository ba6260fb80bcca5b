/**
 * Measures the scoreboard reporter on synthetic experiments: the time from the first experiment
 * result to the printed scoreboard and written files, and the heap it holds. Run with
 * `npx tsx bench/reporter.bench.ts`; it takes a few seconds and stops by itself.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { TestSuite, Vitest } from 'vitest/node';
import type { ExperimentRecord } from '../src/harness/record.ts';
import { ScoreboardReporter } from '../src/reporters/index.ts';

const ROUNDS = 7;
const T0_MS = Date.UTC(2026, 0, 1);
const SERVICES = ['payment-svc', 'inventory-svc', 'checkout-svc', 'auth-svc', 'api-gateway'];

function syntheticRecord(index: number): ExperimentRecord {
  const service = SERVICES[index % SERVICES.length] ?? 'payment-svc';
  const detected = index % 4 !== 0;
  const alerts = detected
    ? [0, 1, 2].map((n) => ({
        id: `a${index}-${n}`,
        service: SERVICES[(index + n) % SERVICES.length] ?? service,
        signal: 'http_p99_ms',
        severity: 'warning',
        firedAtMs: T0_MS + 5000 + ((index * 7919) % 50_000) + n * 1000,
        summary: 'p99 above baseline',
      }))
    : [];
  return {
    kind: 'experiment',
    schemaVersion: 1,
    id: String(index + 1),
    name: `${service}_latency_${index}`,
    source: { file: 'bench.yaml', sha256: 'f'.repeat(64) },
    hypothesis: {
      text: `Latency on ${service} is detected.`,
      expect: { detected: true, mttdMaxMs: 60_000 },
    },
    fault: { type: 'latency', target: service, driver: 'toxiproxy', params: { latencyMs: 500 } },
    groundTruth: { rootService: service, alsoCorrect: [], mustNotPick: [] },
    status: index % 25 === 0 ? 'invalid' : 'completed',
    times: {
      injectedAtMs: T0_MS,
      rolledBackAtMs: T0_MS + 60_000,
      detectionWindowEndMs: T0_MS + 60_000,
    },
    detection: {
      detected,
      alerts,
      ...(alerts[0] ? { firstAlert: alerts[0], mttdMs: alerts[0].firedAtMs - T0_MS } : {}),
    },
    correlation: { id: `c${index}`, alertIds: alerts.map((a) => a.id), services: [service] },
    rca: { rootService: index % 3 === 0 ? 'api-gateway' : service, confidence: 0.7, evidence: [] },
    pipelineErrors: [],
    probe: { before: 1, during: 0.9, after: 1 },
    versions: { framework: '0.1.0' },
  };
}

/** Wraps a record in a stand-in for a Vitest suite; the reporter reads only `meta()` and names. */
function suiteOf(record: ExperimentRecord): TestSuite {
  const suite = { meta: () => ({ chaos: record }), fullName: record.name, id: record.id };
  return suite as unknown as TestSuite;
}

async function measure(
  count: number,
  minWriteIntervalMs: number,
): Promise<{ ms: number; heapMB: number; jsonKB: number }> {
  const root = mkdtempSync(join(tmpdir(), `chaos-bench-${process.pid}-`));
  const suites = Array.from({ length: count }, (_, i) => suiteOf(syntheticRecord(i)));
  let printed = 0;
  const reporter = new ScoreboardReporter({
    env: { CHAOS_RESULTS_DIR: join(root, 'results') },
    output: (text) => (printed += text.length),
    errorOutput: (text) => process.stderr.write(text),
    minWriteIntervalMs,
  });
  reporter.onInit({ config: { root }, version: 'bench' } as unknown as Vitest);
  global.gc?.();
  const heapBefore = process.memoryUsage().heapUsed;
  const start = performance.now();
  reporter.onTestRunStart();
  for (const suite of suites) reporter.onTestSuiteResult(suite);
  const heapAfterCollect = process.memoryUsage().heapUsed;
  await reporter.onTestRunEnd([], [], 'passed');
  const ms = performance.now() - start;
  if (printed === 0) throw new Error('the reporter printed no scoreboard');
  const jsonKB = statSync(join(root, 'results', 'chaos_results.json')).size / 1024;
  rmSync(root, { recursive: true, force: true });
  return { ms, heapMB: (heapAfterCollect - heapBefore) / 2 ** 20, jsonKB };
}

function percentile(values: number[], percent: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.max(0, Math.ceil((percent / 100) * sorted.length) - 1)] ?? Number.NaN;
}

async function main(): Promise<void> {
  const exitCodeBefore = process.exitCode;
  const rows: Record<string, number[]> = { '100': [], '1000': [], '200 unbatched': [] };
  const heap: number[] = [];
  let jsonKB = 0;
  for (let round = 0; round < ROUNDS; round += 1) {
    rows['100']!.push((await measure(100, 250)).ms);
    const big = await measure(1000, 250);
    rows['1000']!.push(big.ms);
    heap.push(big.heapMB);
    jsonKB = big.jsonKB;
    rows['200 unbatched']!.push((await measure(200, 0)).ms);
  }

  // The gate fails on these synthetic records; the exit code is not the benchmark's result.
  process.exitCode = exitCodeBefore;

  for (const [name, values] of Object.entries(rows)) {
    console.log(
      `${name.padEnd(14)} p50 ${percentile(values, 50).toFixed(0)} ms, max ${Math.max(...values).toFixed(0)} ms`,
    );
  }

  const p50Small = percentile(rows['100']!, 50);
  const p50Big = percentile(rows['1000']!, 50);
  console.log(
    `ratio 1000/100 experiments: ${(p50Big / p50Small).toFixed(1)}x (10x would be linear)`,
  );
  console.log(
    `heap growth while collecting 1000 records: p50 ${percentile(heap, 50).toFixed(1)} MB; results file ${jsonKB.toFixed(0)} KB`,
  );
  console.log(
    `SUMMARY reporter: 1000 experiments p50 ${p50Big.toFixed(0)} ms, max ${Math.max(...rows['1000']!).toFixed(0)} ms, ` +
      `heap ${percentile(heap, 50).toFixed(1)} MB, 200 unbatched p50 ${percentile(rows['200 unbatched']!, 50).toFixed(0)} ms`,
  );
}

await main();
