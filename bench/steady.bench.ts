/**
 * Measures two costs of the steady-state module on 127.0.0.1:
 * - campaign time saved by the adaptive cooldown against the fixed one. The campaign is
 *   SIMULATED: each experiment's cooldown phase runs against a local service that was made to
 *   fail and heals after a measured delay, and a local alert source that goes quiet shortly
 *   after the heal, standing in for the pipeline. Both modes run for real in the same run.
 * - the probe's own CPU cost, from `process.cpuUsage` over a bounded run against a target
 *   served by a child process, so the target's work is not counted.
 * Run with `npx tsx bench/steady.bench.ts`; it stops by itself in about a minute.
 */
import { spawn } from 'node:child_process';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { waitCooldown } from '../src/harness/steady/cooldown.ts';
import { checkSteadyState } from '../src/harness/steady/gate.ts';
import { startProbe } from '../src/harness/steady/probe.ts';
import { startTestService, temporaryFolder } from '../test/steady/helpers.ts';

/** Time each simulated experiment's service takes to heal after its rollback, in ms. */
const HEAL_DELAYS_MS = [300, 1_500, 800, 2_500, 500];
/** Fixed cooldown, and the bound of the adaptive one, in ms (the quick profile uses 20 s). */
const COOLDOWN_MAX_MS = 6_000;
const QUIET_MS = 1_000;
/** The stand-in pipeline keeps alerting this long after the heal, in ms. */
const ALERT_LAG_MS = 500;
const PROBE_WINDOW_MS = 1_000;
const CPU_RUN_MS = 10_000;

function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1))] ?? NaN;
}

/** Starts a local alert API that records an alert every 200 ms while noisy. */
async function startAlertSource() {
  const alertsAtMs: number[] = [];
  let timer: NodeJS.Timeout | undefined;
  const server = http.createServer((request, response) => {
    const sinceMs = Number(
      new URL(request.url ?? '/', 'http://localhost').searchParams.get('since'),
    );
    response.end(JSON.stringify(alertsAtMs.filter((atMs) => atMs >= sinceMs)));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    setNoisy(noisy: boolean) {
      clearInterval(timer);
      if (!noisy) return;
      alertsAtMs.push(Date.now());
      timer = setInterval(() => alertsAtMs.push(Date.now()), 200);
    },
    async isQuiet(sinceMs: number) {
      const response = await fetch(`${url}/alerts?since=${sinceMs}`);
      return ((await response.json()) as number[]).length === 0;
    },
    stop() {
      clearInterval(timer);
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

async function measureCooldowns(): Promise<{ adaptiveMs: number[]; fixedMs: number[] }> {
  const folder = temporaryFolder('steady-bench');
  const service = await startTestService('checkout-svc');
  const alerts = await startAlertSource();
  const probe = startProbe({
    url: `${service.url}/health`,
    intervalMs: 100,
    logFile: join(folder.path, 'probe.log'),
  });
  const isRecovered = async () =>
    (await checkSteadyState({ probe, windowMs: PROBE_WINDOW_MS })).steady;
  const adaptiveMs: number[] = [];
  const fixedMs: number[] = [];
  try {
    for (const healDelayMs of HEAL_DELAYS_MS) {
      for (const mode of ['adaptive', 'fixed'] as const) {
        // The fault has just been rolled back: the service still fails and the pipeline alerts.
        service.behaviour.status = 503;
        alerts.setNoisy(true);
        await sleep(300);
        setTimeout(() => (service.behaviour.status = 200), healDelayMs);
        setTimeout(() => alerts.setNoisy(false), healDelayMs + ALERT_LAG_MS);
        const result = await waitCooldown({
          mode,
          maxMs: COOLDOWN_MAX_MS,
          quietMs: QUIET_MS,
          isRecovered,
          isPipelineQuiet: alerts.isQuiet,
        });
        (mode === 'adaptive' ? adaptiveMs : fixedMs).push(result.waitedMs);
        console.log(
          `heal ${healDelayMs}ms: ${mode} cooldown ${result.waitedMs}ms${result.timedOut ? ' (hit the bound)' : ''}`,
        );
      }
    }
  } finally {
    await probe.stop();
    await alerts.stop();
    await service.stop();
    folder.remove();
  }
  return { adaptiveMs, fixedMs };
}

/** Serves `/health` from a child process so its CPU time is not this process's. */
async function startChildTarget(): Promise<{ url: string; stop(): Promise<void> }> {
  const source =
    "const s=require('http').createServer((q,r)=>r.end('ok'));" +
    "s.listen(0,'127.0.0.1',()=>console.log(s.address().port));";
  const child = spawn(process.execPath, ['-e', source], { stdio: ['ignore', 'pipe', 'inherit'] });
  const port = await new Promise<string>((resolve) =>
    child.stdout.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())),
  );
  const exited = new Promise((resolve) => child.once('exit', resolve));
  return {
    url: `http://127.0.0.1:${port}/health`,
    stop: async () => {
      child.kill('SIGTERM');
      await exited;
    },
  };
}

async function measureProbeCpu(intervalMs: number) {
  const folder = temporaryFolder('steady-bench-cpu');
  const target = await startChildTarget();
  try {
    const idleStart = process.cpuUsage();
    await sleep(2_000);
    const idle = process.cpuUsage(idleStart);
    const idleMsPerSecond = (idle.user + idle.system) / 1_000 / 2;
    const start = process.cpuUsage();
    const startedAt = performance.now();
    const probe = startProbe({
      url: target.url,
      intervalMs,
      logFile: join(folder.path, 'probe.log'),
    });
    await sleep(CPU_RUN_MS);
    await probe.stop();
    const used = process.cpuUsage(start);
    const elapsedMs = performance.now() - startedAt;
    const checks = probe.checks();
    const cpuMs = (used.user + used.system) / 1_000 - idleMsPerSecond * (elapsedMs / 1_000);
    const latencies = checks.map((check) => check.latencyMs);
    return {
      checks: checks.length,
      cpuMsPerCheck: cpuMs / checks.length,
      corePercent: (cpuMs / elapsedMs) * 100,
      latencyP50Ms: quantile(latencies, 0.5),
      latencyP99Ms: quantile(latencies, 0.99),
    };
  } finally {
    await target.stop();
    folder.remove();
  }
}

const cooldowns = await measureCooldowns();
const adaptiveTotalMs = cooldowns.adaptiveMs.reduce((sum, value) => sum + value, 0);
const fixedTotalMs = cooldowns.fixedMs.reduce((sum, value) => sum + value, 0);
const ratio = adaptiveTotalMs / fixedTotalMs;
console.log(
  `cooldown over ${HEAL_DELAYS_MS.length} simulated experiments: adaptive ${adaptiveTotalMs}ms, ` +
    `fixed ${fixedTotalMs}ms, adaptive/fixed ${ratio.toFixed(2)}, ` +
    `adaptive p50 ${quantile(cooldowns.adaptiveMs, 0.5)}ms p99 ${quantile(cooldowns.adaptiveMs, 0.99)}ms`,
);

const fast = await measureProbeCpu(100);
const quick = await measureProbeCpu(1_000);
for (const [label, result] of [
  ['100 ms', fast],
  ['1 s', quick],
] as const) {
  console.log(
    `probe every ${label}: ${result.checks} checks, ${result.cpuMsPerCheck.toFixed(3)} ms CPU per check, ` +
      `${result.corePercent.toFixed(3)}% of one core, check latency p50 ${result.latencyP50Ms.toFixed(1)}ms ` +
      `p99 ${result.latencyP99Ms.toFixed(1)}ms`,
  );
}
console.log(
  `SUMMARY steady: adaptive/fixed cooldown time ${ratio.toFixed(2)} (saved ` +
    `${((1 - ratio) * 100).toFixed(0)}%, simulated cooldown phases), probe CPU ` +
    `${fast.cpuMsPerCheck.toFixed(3)} ms per check, ${quick.corePercent.toFixed(3)}% of a core at 1 s`,
);
