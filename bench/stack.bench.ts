/**
 * Embedded stack benchmark: start-up time, then CPU and memory of the whole stack (services,
 * supervisor with the fault layer, Toxiproxy) idle and under workload. Bounded: 3 start-ups and
 * two 10 s windows by default; `STACK_BENCH_STARTS` and `STACK_BENCH_WINDOW_MS` change them.
 *
 * Run: npx tsx bench/stack.bench.ts
 */
import { startStack } from '../fixtures/stack/index.ts';
import {
  cpuSeconds,
  memoryMb,
  percentile,
  pidsMatching,
  sleep,
} from '../fixtures/stack/measure.ts';
import { startToxiproxyServer } from '../src/harness/drivers/toxiproxy/server.ts';

const STARTS = Number(process.env.STACK_BENCH_STARTS ?? 3);
const WINDOW_MS = Number(process.env.STACK_BENCH_WINDOW_MS ?? 10_000);
const LOADED_RATE_PER_SECOND = 10;

interface WindowResult {
  cpuPercent: number;
  rssMb: number;
  pssMb: number;
}

async function measureWindow(pids: () => number[]): Promise<WindowResult> {
  const cpuBefore = cpuSeconds(pids());
  const startedAt = performance.now();
  await sleep(WINDOW_MS);
  const elapsedS = (performance.now() - startedAt) / 1_000;
  const cpuPercent = ((cpuSeconds(pids()) - cpuBefore) / elapsedS) * 100;
  return { cpuPercent, ...memoryMb(pids()) };
}

async function setRate(supervisorUrl: string, ratePerSecond: number): Promise<void> {
  const response = await fetch(`${supervisorUrl}/workload`, {
    method: 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ ratePerSecond }),
  });
  if (!response.ok) throw new Error(`setting the workload failed: ${response.status}`);
}

async function main(): Promise<void> {
  await using toxiproxy = await startToxiproxyServer();
  const startMs: number[] = [];
  for (let index = 0; index < STARTS; index += 1) {
    const startedAt = performance.now();
    const stack = await startStack({ toxiproxyUrl: toxiproxy.url, workload: false });
    startMs.push(performance.now() - startedAt);
    await stack.stop();
  }
  console.log(
    `start-up over ${STARTS} runs: p50 ${percentile(startMs, 50).toFixed(0)} ms, max ${Math.max(...startMs).toFixed(0)} ms`,
  );

  await using stack = await startStack({ toxiproxyUrl: toxiproxy.url, workload: false });
  const pids = () => [...pidsMatching(stack.info.stateDir!), toxiproxy.pid];
  console.log(`processes: ${pids().length} (13 services, supervisor, Toxiproxy)`);
  const idle = await measureWindow(pids);
  console.log(
    `idle:   CPU ${idle.cpuPercent.toFixed(1)}% of one core, RSS sum ${idle.rssMb} MiB, PSS sum ${idle.pssMb} MiB`,
  );
  await setRate(stack.info.supervisorUrl!, LOADED_RATE_PER_SECOND);
  await sleep(2_000);
  const loaded = await measureWindow(pids);
  const stats = (await (await fetch(`${stack.info.supervisorUrl}/workload`)).json()) as {
    sent: number;
    byStatus: Record<string, number>;
  };
  const okShare =
    Object.entries(stats.byStatus)
      .filter(([status]) => status.startsWith('2'))
      .reduce((total, [, count]) => total + count, 0) / Math.max(1, stats.sent);
  console.log(
    `loaded (${LOADED_RATE_PER_SECOND} req/s): CPU ${loaded.cpuPercent.toFixed(1)}% of one core, RSS sum ${loaded.rssMb} MiB, PSS sum ${loaded.pssMb} MiB, ${(okShare * 100).toFixed(1)}% 2xx of ${stats.sent}`,
  );
  console.log(
    `ratios loaded/idle: CPU ${(loaded.cpuPercent / Math.max(idle.cpuPercent, 0.1)).toFixed(1)}x, PSS ${(loaded.pssMb / idle.pssMb).toFixed(2)}x`,
  );
  console.log(
    `SUMMARY stack: start p50 ${percentile(startMs, 50).toFixed(0)} ms; idle CPU ${idle.cpuPercent.toFixed(1)}%, PSS ${idle.pssMb} MiB (RSS sum ${idle.rssMb} MiB); ` +
      `loaded ${LOADED_RATE_PER_SECOND}/s CPU ${loaded.cpuPercent.toFixed(1)}%, PSS ${loaded.pssMb} MiB`,
  );
}

await main();
