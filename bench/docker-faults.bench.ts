// Activation and rollback latency of each Docker driver fault on real containers: apply (until
// the engine reports the new state) and rollback (until it is gone), p50 and p99 over a bounded
// number of rounds. Needs root and a running engine (sudo scripts/docker-setup.sh).
// Run: npx tsx bench/docker-faults.bench.ts [rounds]   (default 10 rounds per fault, at most 30)
import type { FaultInput } from '../src/harness/faults/spec.ts';
import { dockerDriver } from '../src/harness/drivers/docker/index.ts';
import {
  bridgeNetworks,
  context,
  fault,
  freePort,
  prepareEngine,
  removeTestContainers,
  startTestContainer,
  type TestContainerOptions,
} from '../test/docker/helpers.ts';

const ROUNDS = Math.min(30, Math.max(1, Number(process.argv[2] ?? 10)));
/** The whole run stops after this long, whatever the rounds. */
const BUDGET_MS = 240_000;
const MIB = 1024 * 1024;

interface Case {
  name: string;
  container: Omit<TestContainerOptions, 'service'>;
  fault: (target: string) => FaultInput;
}

async function cases(): Promise<Case[]> {
  return [
    { name: 'availability', container: {}, fault: (target) => ({ target, type: 'availability' }) },
    { name: 'down', container: {}, fault: (target) => ({ target, type: 'down' }) },
    {
      name: 'process_pause',
      container: {},
      fault: (target) => ({ target, type: 'process_pause' }),
    },
    {
      name: 'cpu_saturation',
      container: {},
      fault: (target) => ({ target, type: 'cpu_saturation', load: 80, workers: 1 }),
    },
    {
      name: 'memory',
      container: { memoryBytes: 128 * MIB },
      fault: (target) => ({ target, type: 'memory', fill: 60 }),
    },
    {
      name: 'disk_fill',
      container: { tmpfs: { '/data': 'size=32m' } },
      fault: (target) => ({ target, type: 'disk_fill', fill: 90 }),
    },
    {
      name: 'time_skew',
      container: { faketime: true },
      fault: (target) => ({ target, type: 'time_skew', offset: '+60s' }),
    },
    {
      name: 'network_partition (host)',
      container: { network: 'host', port: await freePort() },
      fault: (target) => ({ target, type: 'network_partition' }),
    },
    {
      name: 'network_loss (none)',
      container: { network: 'none', port: await freePort() },
      fault: (target) => ({ target, type: 'network_loss', probability: 0.3 }),
    },
  ];
}

function percentile(sorted: number[], share: number): number {
  const index = Math.min(sorted.length - 1, Math.ceil(share * sorted.length) - 1);
  return sorted[Math.max(0, index)] ?? Number.NaN;
}

interface Result {
  name: string;
  rounds: number;
  applyMs: number[];
  rollbackMs: number[];
  manifested: number;
}

async function measure(entry: Case, index: number, deadlineMs: number): Promise<Result> {
  const service = `bench-${index}`;
  await startTestContainer({ service, ...entry.container });
  // The host-network service needs a moment to listen before its port matters.
  await new Promise((resolve) => setTimeout(resolve, 300));
  const parsed = fault(entry.fault(service));
  const result: Result = {
    name: entry.name,
    rounds: 0,
    applyMs: [],
    rollbackMs: [],
    manifested: 0,
  };
  for (let round = 0; round < ROUNDS && Date.now() < deadlineMs; round += 1) {
    const plan = await dockerDriver.plan(parsed, context(`bench-${round}`));
    const appliedAtMs = performance.now();
    await dockerDriver.apply(plan, context());
    result.applyMs.push(performance.now() - appliedAtMs);
    if ((await dockerDriver.verify(plan, context())).manifested) result.manifested += 1;
    const rollbackAtMs = performance.now();
    await dockerDriver.rollback(plan, context());
    result.rollbackMs.push(performance.now() - rollbackAtMs);
    result.rounds += 1;
  }
  return result;
}

function row(result: Result): string {
  const apply = [...result.applyMs].sort((left, right) => left - right);
  const rollback = [...result.rollbackMs].sort((left, right) => left - right);
  const cells = [
    result.name.padEnd(26),
    String(result.rounds).padStart(6),
    `${result.manifested}/${result.rounds}`.padStart(10),
    percentile(apply, 0.5).toFixed(0).padStart(9),
    percentile(apply, 0.99).toFixed(0).padStart(9),
    percentile(rollback, 0.5).toFixed(0).padStart(12),
    percentile(rollback, 0.99).toFixed(0).padStart(12),
  ];
  return cells.join(' ');
}

async function main(): Promise<void> {
  const skipReason = await prepareEngine();
  if (skipReason) {
    console.log(`SUMMARY docker-faults: skipped (${skipReason})`);
    return;
  }
  if ((await bridgeNetworks()).length > 0) throw new Error('the engine has a bridge network');
  const deadlineMs = Date.now() + BUDGET_MS;
  const results: Result[] = [];
  try {
    for (const [index, entry] of (await cases()).entries()) {
      results.push(await measure(entry, index, deadlineMs));
    }
  } finally {
    await removeTestContainers();
  }
  console.log(`Docker driver fault latency, ${ROUNDS} rounds per fault (milliseconds)`);
  console.log(
    'fault                       rounds manifested apply p50 apply p99 rollback p50 rollback p99',
  );
  for (const result of results) console.log(row(result));
  const summary = results.map((result) => {
    const apply = percentile(
      [...result.applyMs].sort((left, right) => left - right),
      0.5,
    );
    const rollback = percentile(
      [...result.rollbackMs].sort((left, right) => left - right),
      0.5,
    );
    return `${result.name.split(' ')[0]} ${apply.toFixed(0)}/${rollback.toFixed(0)}`;
  });
  console.log(`SUMMARY docker-faults: apply/rollback p50 ms: ${summary.join(', ')}`);
}

await main();
