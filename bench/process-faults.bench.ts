/**
 * Process fault benchmark: activation (plan, apply, verify) and rollback latency of each fault of
 * the process driver on the embedded stack, p50 and p99 over a bounded number of iterations
 * (`PROCESS_BENCH_ITERATIONS`, default 5; 3 for the CPU and memory faults).
 *
 * Run: npx tsx bench/process-faults.bench.ts
 */
import { startStack } from '../fixtures/stack/index.ts';
import { percentile, sleep } from '../fixtures/stack/measure.ts';
import { processDriver } from '../src/harness/drivers/process/index.ts';
import { startToxiproxyServer } from '../src/harness/drivers/toxiproxy/server.ts';
import type { DriverContext } from '../src/harness/faults/driver.ts';
import { faultSchema, type FaultInput } from '../src/harness/faults/spec.ts';

const ITERATIONS = Number(process.env.PROCESS_BENCH_ITERATIONS ?? 5);

const CASES: { label: string; fault: FaultInput; iterations: number }[] = [
  {
    label: 'process_pause payment-svc',
    fault: { type: 'process_pause', target: 'payment-svc' },
    iterations: ITERATIONS,
  },
  {
    label: 'availability kafka',
    fault: { type: 'availability', target: 'kafka', restart_after: '200ms' },
    iterations: ITERATIONS,
  },
  {
    label: 'cpu_saturation api-gateway',
    fault: { type: 'cpu_saturation', target: 'api-gateway', load: 100 },
    iterations: Math.min(ITERATIONS, 3),
  },
  {
    label: 'memory payment-db 90%',
    fault: { type: 'memory', target: 'payment-db', fill: 90 },
    iterations: Math.min(ITERATIONS, 3),
  },
  {
    label: 'disk_fill log-collector 100%',
    fault: { type: 'disk_fill', target: 'log-collector', fill: 100 },
    iterations: ITERATIONS,
  },
  {
    label: 'time_skew auth-svc +60s',
    fault: { type: 'time_skew', target: 'auth-svc', offset: '+60s' },
    iterations: ITERATIONS,
  },
  {
    label: 'fd_exhaustion checkout-svc',
    fault: { type: 'fd_exhaustion', target: 'checkout-svc' },
    iterations: ITERATIONS,
  },
  {
    label: 'config_corruption payment-svc',
    fault: { type: 'config_corruption', target: 'payment-svc' },
    iterations: ITERATIONS,
  },
  {
    label: 'cache_poisoning cache-svc',
    fault: { type: 'cache_poisoning', target: 'cache-svc', share: 0.5 },
    iterations: ITERATIONS,
  },
];

async function measure(
  fault: FaultInput,
  context: DriverContext,
): Promise<{ activationMs: number; rollbackMs: number }> {
  const parsed = faultSchema.parse(fault);
  const startedAt = performance.now();
  const plan = await processDriver.plan(parsed, context);
  await processDriver.apply(plan, context);
  const manifestation = await processDriver.verify(plan, context);
  const activationMs = performance.now() - startedAt;
  const rollbackStartedAt = performance.now();
  await processDriver.rollback(plan, context);
  const rollbackMs = performance.now() - rollbackStartedAt;
  if (!manifestation.manifested)
    throw new Error(`${fault.type} did not take effect: ${manifestation.detail}`);
  return { activationMs, rollbackMs };
}

async function main(): Promise<void> {
  await using toxiproxy = await startToxiproxyServer();
  await using stack = await startStack({
    toxiproxyUrl: toxiproxy.url,
    workload: { ratePerSecond: 5 },
  });
  await sleep(3_000);
  const rows: { label: string; activation: number[]; rollback: number[] }[] = [];
  for (const { label, fault, iterations } of CASES) {
    const row = { label, activation: [] as number[], rollback: [] as number[] };
    for (let index = 0; index < iterations; index += 1) {
      const context = {
        stack: stack.info,
        experimentKey: `bench${process.pid}x${rows.length}x${index}`,
      };
      const { activationMs, rollbackMs } = await measure(fault, context);
      row.activation.push(activationMs);
      row.rollback.push(rollbackMs);
      // Lets a killed or paused service settle before the next iteration.
      await sleep(500);
    }
    rows.push(row);
    console.log(
      `${label.padEnd(32)} activation p50 ${percentile(row.activation, 50).toFixed(1)} ms p99 ${percentile(row.activation, 99).toFixed(1)} ms` +
        ` | rollback p50 ${percentile(row.rollback, 50).toFixed(1)} ms p99 ${percentile(row.rollback, 99).toFixed(1)} ms (n=${iterations})`,
    );
  }
  const slowest = rows.reduce((worst, row) =>
    percentile(row.activation, 99) > percentile(worst.activation, 99) ? row : worst,
  );
  const slowestRollback = rows.reduce((worst, row) =>
    percentile(row.rollback, 99) > percentile(worst.rollback, 99) ? row : worst,
  );
  console.log(
    `SUMMARY process-faults: slowest activation p99 ${percentile(slowest.activation, 99).toFixed(0)} ms (${slowest.label}); ` +
      `slowest rollback p99 ${percentile(slowestRollback.rollback, 99).toFixed(0)} ms (${slowestRollback.label})`,
  );
}

await main();
