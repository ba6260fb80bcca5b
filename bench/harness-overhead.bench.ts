// Harness overhead per experiment: inject (resolve driver, requirements, plan, journal write,
// apply) plus rollback bookkeeping (rollback, journal removal), with a driver whose calls cost
// nothing, so only the harness is measured. Run: npx tsx bench/harness-overhead.bench.ts
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { FaultDriver } from '../src/harness/faults/driver.ts';
import { injectFault } from '../src/harness/faults/lifecycle.ts';
import { registerDriver } from '../src/harness/faults/registry.ts';
import { faultSchema } from '../src/harness/faults/spec.ts';
import { Journal } from '../src/harness/journal/journal.ts';
import type { StackInfo } from '../src/harness/stack-info.ts';

const WARMUP = 30;
const ITERATIONS = 400;

const noopDriver: FaultDriver = {
  name: 'bench-noop',
  supports: () => true,
  checkRequirements: async () => [],
  plan: async (fault) => ({
    driver: 'bench-noop',
    mechanism: 'none',
    faultType: fault.type,
    target: fault.target,
    data: { note: 'no-op' },
  }),
  apply: async () => undefined,
  verify: async () => ({ manifested: true, detail: 'no-op' }),
  rollback: async () => undefined,
};

function percentile(sorted: number[], share: number): number {
  const index = Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? Number.NaN;
}

async function measure(
  journal: Journal,
  stack: StackInfo,
): Promise<{ totalMs: number; injectMs: number }> {
  const fault = faultSchema.parse({
    type: 'latency',
    target: 'payment-svc',
    latency: '500ms',
    driver: 'bench-noop',
  });
  const startedAt = performance.now();
  const active = await injectFault(fault, { stack, experimentKey: 'bench' }, journal);
  const injectedAt = performance.now();
  await active.rollback();
  return { totalMs: performance.now() - startedAt, injectMs: injectedAt - startedAt };
}

async function main(): Promise<void> {
  registerDriver(noopDriver);
  const dir = mkdtempSync(join(tmpdir(), 'chaos-bench-'));
  const journal = new Journal(join(dir, 'journal'), 'bench');
  const stack: StackInfo = {
    kind: 'process',
    services: [],
    edges: [],
    topology: {},
    probeUrl: 'http://127.0.0.1:9/',
  };
  try {
    for (let index = 0; index < WARMUP; index += 1) await measure(journal, stack);
    const totals: number[] = [];
    const injects: number[] = [];
    for (let index = 0; index < ITERATIONS; index += 1) {
      const { totalMs, injectMs } = await measure(journal, stack);
      totals.push(totalMs);
      injects.push(injectMs);
    }
    totals.sort((left, right) => left - right);
    injects.sort((left, right) => left - right);
    const p50 = percentile(totals, 0.5);
    const p99 = percentile(totals, 0.99);
    const injectP50 = percentile(injects, 0.5);
    console.log(`iterations: ${ITERATIONS} (after ${WARMUP} warm-up), journal in ${dir}`);
    console.log(
      `inject + rollback: p50 ${p50.toFixed(3)} ms, p99 ${p99.toFixed(3)} ms, max ${totals.at(-1)?.toFixed(3)} ms`,
    );
    console.log(
      `inject alone: p50 ${injectP50.toFixed(3)} ms (${((injectP50 / p50) * 100).toFixed(0)}% of the total)`,
    );
    console.log(
      `target p50 < 5 ms: ${p50 < 5 ? 'met' : 'missed'} (p50 / target = ${(p50 / 5).toFixed(2)})`,
    );
    console.log(
      `SUMMARY harness-overhead: p50 ${p50.toFixed(2)} ms, p99 ${p99.toFixed(2)} ms over ${ITERATIONS} inject+rollback cycles`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();
