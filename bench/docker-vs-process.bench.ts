// Activation and rollback latency of the same faults on the same demo services, once on the
// embedded stack as local processes (process driver) and once under Docker Compose (Docker
// driver), in one run. Activation is plan, apply and a verify that finds the fault in effect;
// rollback is the rollback call, which waits until the fault is gone. Prints p50 and p99 per
// fault and driver, and the Docker/process ratio of the p50s.
// Needs root, Toxiproxy, stress-ng, libfaketime and a running engine (scripts/docker-setup.sh).
// Run: npx tsx bench/docker-vs-process.bench.ts [rounds]   (default 5 per fault, at most 20)
import { startDockerStack } from '../fixtures/docker/stack.ts';
import { startStack } from '../fixtures/stack/index.ts';
import { percentile, sleep } from '../fixtures/stack/measure.ts';
import { dockerDriver } from '../src/harness/drivers/docker/index.ts';
import { processDriver } from '../src/harness/drivers/process/index.ts';
import { startToxiproxyServer } from '../src/harness/drivers/toxiproxy/server.ts';
import type { FaultDriver } from '../src/harness/faults/driver.ts';
import { faultSchema, type FaultInput } from '../src/harness/faults/spec.ts';
import type { StackInfo } from '../src/harness/stack-info.ts';
import { prepareEngine } from '../test/docker/helpers.ts';

const ROUNDS = Math.min(20, Math.max(1, Number(process.argv[2] ?? 5)));
/** Each half of the run (processes, then containers) stops starting rounds after this long. */
const BUDGET_PER_STACK_MS = 240_000;
/** Pause after a stack starts, so its workload runs before the first fault. */
const STACK_SETTLE_MS = 3_000;
/** Pause after each rollback, so a killed or paused service is back before the next round. */
const SETTLE_MS = 500;

const CASES: { label: string; fault: FaultInput; rounds: number }[] = [
  {
    label: 'availability kafka',
    fault: { type: 'availability', target: 'kafka', restart_after: '200ms' },
    rounds: ROUNDS,
  },
  {
    label: 'process_pause payment-svc',
    fault: { type: 'process_pause', target: 'payment-svc' },
    rounds: ROUNDS,
  },
  {
    label: 'cpu_saturation api-gateway',
    fault: { type: 'cpu_saturation', target: 'api-gateway', load: 100 },
    rounds: Math.min(ROUNDS, 3),
  },
  {
    label: 'memory payment-db 90%',
    fault: { type: 'memory', target: 'payment-db', fill: 90 },
    rounds: Math.min(ROUNDS, 3),
  },
  {
    label: 'disk_fill log-collector 90%',
    fault: { type: 'disk_fill', target: 'log-collector', fill: 90 },
    rounds: ROUNDS,
  },
  {
    label: 'time_skew auth-svc +60s',
    fault: { type: 'time_skew', target: 'auth-svc', offset: '+60s' },
    rounds: ROUNDS,
  },
];

interface Samples {
  activationMs: number[];
  rollbackMs: number[];
  failures: string[];
}

async function measureStack(
  driver: FaultDriver,
  stack: StackInfo,
  name: string,
): Promise<Map<string, Samples>> {
  const deadlineMs = Date.now() + BUDGET_PER_STACK_MS;
  const results = new Map<string, Samples>();
  for (const [caseIndex, entry] of CASES.entries()) {
    const samples: Samples = { activationMs: [], rollbackMs: [], failures: [] };
    results.set(entry.label, samples);
    const fault = faultSchema.parse(entry.fault);
    for (let round = 0; round < entry.rounds && Date.now() < deadlineMs; round += 1) {
      const context = { stack, experimentKey: `bench${process.pid}${name}${caseIndex}x${round}` };
      const startedAtMs = performance.now();
      const plan = await driver.plan(fault, context);
      try {
        await driver.apply(plan, context);
        const manifestation = await driver.verify(plan, context);
        samples.activationMs.push(performance.now() - startedAtMs);
        if (!manifestation.manifested) samples.failures.push(manifestation.detail);
      } finally {
        const rollbackAtMs = performance.now();
        await driver.rollback(plan, context);
        samples.rollbackMs.push(performance.now() - rollbackAtMs);
      }
      await sleep(SETTLE_MS);
    }
    console.log(`${name.padEnd(9)} ${entry.label}: ${samples.activationMs.length} round(s)`);
  }
  return results;
}

/** Starts one form of the stack, lets its workload settle, measures every case, stops it. */
async function measureOn(
  start: () => Promise<{ info: StackInfo } & AsyncDisposable>,
  driver: FaultDriver,
  name: string,
): Promise<Map<string, Samples>> {
  await using stack = await start();
  await sleep(STACK_SETTLE_MS);
  // Awaited here, because the stack is disposed as soon as this function returns.
  return await measureStack(driver, stack.info, name);
}

function cell(values: number[], share: number): string {
  return values.length === 0 ? '-' : percentile(values, share).toFixed(0);
}

function ratio(docker: number[], local: number[]): string {
  if (docker.length === 0 || local.length === 0) return '-';
  return (percentile(docker, 50) / Math.max(percentile(local, 50), 0.1)).toFixed(1);
}

async function main(): Promise<void> {
  const skipReason = await prepareEngine();
  if (skipReason) {
    console.log(`SUMMARY docker-vs-process: skipped (${skipReason})`);
    return;
  }
  await using toxiproxy = await startToxiproxyServer();

  const options = { toxiproxyUrl: toxiproxy.url, workload: { ratePerSecond: 5 } };
  const local = await measureOn(() => startStack(options), processDriver, 'process');
  const docker = await measureOn(() => startDockerStack(options), dockerDriver, 'docker');

  console.log(
    `\nFault latency in milliseconds, same services and faults, up to ${ROUNDS} rounds each`,
  );
  console.log(
    'fault                        driver   rounds  activation p50  p99  rollback p50  p99',
  );
  const ratios: string[] = [];
  for (const entry of CASES) {
    for (const [name, results] of [
      ['process', local],
      ['docker', docker],
    ] as const) {
      const samples = results.get(entry.label)!;
      console.log(
        [
          entry.label.padEnd(28),
          name.padEnd(8),
          String(samples.activationMs.length).padStart(6),
          cell(samples.activationMs, 50).padStart(15),
          cell(samples.activationMs, 99).padStart(5),
          cell(samples.rollbackMs, 50).padStart(13),
          cell(samples.rollbackMs, 99).padStart(5),
        ].join(' '),
      );
      for (const failure of samples.failures) console.log(`  not in effect: ${failure}`);
    }
    const dockerSamples = docker.get(entry.label)!;
    const localSamples = local.get(entry.label)!;
    ratios.push(
      `${entry.fault.type} ${ratio(dockerSamples.activationMs, localSamples.activationMs)}x/${ratio(dockerSamples.rollbackMs, localSamples.rollbackMs)}x`,
    );
  }
  console.log(
    `SUMMARY docker-vs-process: docker/process p50, activation/rollback: ${ratios.join(', ')}`,
  );
}

await main();
