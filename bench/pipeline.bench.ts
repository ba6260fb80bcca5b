// Reference pipeline watching the embedded stack: its CPU share and resident memory as its own
// process, false alarms in a fault-free window, and time to detect (and RCA result) for a
// Toxiproxy latency toxic and for a killed service. Bounded to about 4 minutes (2 with --quick).
// Run: npx tsx bench/pipeline.bench.ts [--quick] [--latency-target S] [--kill-target S]
import { spawn, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { startStack } from '../fixtures/stack/index.ts';
import { startToxiproxyServer } from '../src/harness/drivers/toxiproxy/server.ts';
import type { StackInfo } from '../src/harness/stack-info.ts';

const { values: args } = parseArgs({
  options: {
    quick: { type: 'boolean', default: false },
    'latency-target': { type: 'string', default: 'payment-svc' },
    'kill-target': { type: 'string', default: 'inventory-svc' },
  },
});
const PHASE_S = args.quick
  ? { warmup: 30, quiet: 30, fault: 15, cool: 20 }
  : { warmup: 45, quiet: 60, fault: 20, cool: 30 };
const CLOCK_TICKS_PER_S = 100;
const RESTART_AFTER_MS = 10_000;

interface WireAlert {
  id: string;
  service: string;
  signal: string;
  fired_at: number;
  summary: string;
}
interface Outcome {
  name: string;
  mttdS: number | undefined;
  alerts: number;
  root: string | null;
  confidence: number;
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

async function getJson<T>(url: string, body?: unknown): Promise<T> {
  const response = await fetch(
    url,
    body === undefined ? {} : { method: 'POST', body: JSON.stringify(body) },
  );
  if (!response.ok) throw new Error(`${url} returned ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

/** CPU seconds (user + system) and resident memory in MiB of a process, from /proc. */
function processUsage(pid: number): { cpuS: number; rssMb: number } {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  const cpuS = (Number(fields[11]) + Number(fields[12])) / CLOCK_TICKS_PER_S;
  const rss = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return { cpuS, rssMb: Number(rss?.[1] ?? 0) / 1024 };
}

async function startPipelineProcess(
  stackFile: string,
): Promise<{ child: ChildProcess; url: string; pid: number }> {
  const child = spawn(
    join(import.meta.dirname, '../node_modules/.bin/tsx'),
    [
      join(import.meta.dirname, '../fixtures/pipeline/main.ts'),
      '--stack',
      stackFile,
      '--port',
      '0',
    ],
    { stdio: ['ignore', 'pipe', 'inherit'] },
  );
  const [line] = (await once(createInterface({ input: child.stdout! }), 'line')) as [string];
  const ready = JSON.parse(line) as { url: string; pid: number };
  return { child, url: ready.url, pid: ready.pid };
}

/** Waits up to `windowS` for the first alert fired at or after `sinceS`. */
async function firstAlertAfter(
  url: string,
  sinceS: number,
  windowS: number,
): Promise<WireAlert | undefined> {
  const deadline = Date.now() + windowS * 1000;
  while (Date.now() < deadline) {
    const { alerts } = await getJson<{ alerts: WireAlert[] }>(`${url}/alerts?since=${sinceS}`);
    if (alerts[0]) return alerts[0];
    await sleep(250);
  }
  return undefined;
}

async function analyse(
  url: string,
  startS: number,
  endS: number,
): Promise<{ alerts: number; root: string | null; confidence: number }> {
  const { clusters } = await getJson<{ clusters: { id: string; alert_ids: string[] }[] }>(
    `${url}/correlate`,
    { window: { start: startS, end: endS } },
  );
  const biggest = [...clusters].sort((a, b) => b.alert_ids.length - a.alert_ids.length)[0];
  if (!biggest) return { alerts: 0, root: null, confidence: 0 };
  const rca = await getJson<{ root_service: string | null; confidence: number }>(`${url}/rca`, {
    cluster: biggest,
  });
  return {
    alerts: clusters.reduce((sum, cluster) => sum + cluster.alert_ids.length, 0),
    root: rca.root_service,
    confidence: rca.confidence,
  };
}

async function runFault(
  name: string,
  url: string,
  apply: () => Promise<void>,
  rollback: () => Promise<void>,
): Promise<Outcome> {
  const injectedS = Date.now() / 1000;
  await apply();
  let first: WireAlert | undefined;
  try {
    first = await firstAlertAfter(url, injectedS, PHASE_S.fault);
    const remainingMs = injectedS * 1000 + PHASE_S.fault * 1000 - Date.now();
    if (remainingMs > 0) await sleep(remainingMs);
  } finally {
    await rollback();
  }
  const result = await analyse(url, injectedS, Date.now() / 1000);
  console.log(
    `${name}: first alert ${first ? `${first.summary} after ${(first.fired_at - injectedS).toFixed(1)} s` : 'none'}; root ${result.root} (${result.confidence})`,
  );
  await sleep(PHASE_S.cool * 1000);
  return { name, mttdS: first ? first.fired_at - injectedS : undefined, ...result };
}

/** Adds a 300 ms latency toxic on every Toxiproxy edge into `target`. */
function latencyFault(
  info: StackInfo,
  toxiproxyUrl: string,
  pipelineUrl: string,
  target: string,
): Promise<Outcome> {
  const proxies = info.edges
    .filter((edge) => edge.callee === target && edge.toxiproxyProxy)
    .map((edge) => edge.toxiproxyProxy!);
  const toxicName = `bench-latency-${process.pid}`;
  const apply = async (): Promise<void> => {
    for (const proxy of proxies) {
      await getJson(`${toxiproxyUrl}/proxies/${proxy}/toxics`, {
        name: toxicName,
        type: 'latency',
        stream: 'downstream',
        attributes: { latency: 300, jitter: 0 },
      });
    }
  };
  const rollback = async (): Promise<void> => {
    for (const proxy of proxies) {
      await fetch(`${toxiproxyUrl}/proxies/${proxy}/toxics/${toxicName}`, { method: 'DELETE' });
    }
  };
  return runFault(`latency 300ms into ${target}`, pipelineUrl, apply, rollback);
}

/** Kills `target` with SIGKILL and has the supervisor restart it only after RESTART_AFTER_MS. */
function killFault(info: StackInfo, pipelineUrl: string, target: string): Promise<Outcome> {
  const policyUrl = `${info.supervisorUrl}/services/${target}/policy`;
  const apply = async (): Promise<void> => {
    await fetch(policyUrl, {
      method: 'PUT',
      body: JSON.stringify({ restartDelayMs: RESTART_AFTER_MS }),
    });
    const services = await getJson<{ name: string; pid: number | null }[]>(
      `${info.supervisorUrl}/services`,
    );
    const pid = services.find((service) => service.name === target)?.pid;
    if (pid) process.kill(pid, 'SIGKILL');
  };
  const rollback = async (): Promise<void> => {
    await fetch(policyUrl, { method: 'DELETE' });
  };
  return runFault(
    `SIGKILL ${target}, restarted after ${RESTART_AFTER_MS} ms`,
    pipelineUrl,
    apply,
    rollback,
  );
}

async function main(): Promise<void> {
  await using toxiproxy = await startToxiproxyServer();
  await using stack = await startStack({ toxiproxyUrl: toxiproxy.url });
  const info = stack.info;
  const pipeline = await startPipelineProcess(join(info.stateDir!, 'stack.json'));
  try {
    const usageStart = processUsage(pipeline.pid);
    const startedMs = Date.now();
    let peakRssMb = usageStart.rssMb;
    const sampler = setInterval(
      () => (peakRssMb = Math.max(peakRssMb, processUsage(pipeline.pid).rssMb)),
      1000,
    );
    console.log(`pipeline pid ${pipeline.pid} at ${pipeline.url}; warming up ${PHASE_S.warmup} s`);
    await sleep(PHASE_S.warmup * 1000);
    const quietStartS = Date.now() / 1000;
    await sleep(PHASE_S.quiet * 1000);
    const falseAlarms = (
      await getJson<{ alerts: WireAlert[] }>(`${pipeline.url}/alerts?since=${quietStartS}`)
    ).alerts;
    for (const alert of falseAlarms) console.log(`false alarm: ${alert.summary}`);
    const latency = await latencyFault(info, toxiproxy.url, pipeline.url, args['latency-target']!);
    const kill = await killFault(info, pipeline.url, args['kill-target']!);
    clearInterval(sampler);
    const usageEnd = processUsage(pipeline.pid);
    const cpuPercent =
      ((usageEnd.cpuS - usageStart.cpuS) / ((Date.now() - startedMs) / 1000)) * 100;
    const outcomes = [latency, kill];
    for (const outcome of outcomes)
      console.log(
        `${outcome.name}: mttd ${outcome.mttdS?.toFixed(1) ?? 'none'} s, ${outcome.alerts} alerts, root ${outcome.root}`,
      );
    const mttd = outcomes.map((outcome) => `${outcome.mttdS?.toFixed(1) ?? 'none'}s`).join('/');
    const roots = outcomes.map((outcome) => outcome.root ?? 'none').join('/');
    console.log(
      `SUMMARY pipeline: cpu=${cpuPercent.toFixed(2)}% of one core, rss_peak=${peakRssMb.toFixed(0)}MB, false_alarms=${falseAlarms.length} in ${PHASE_S.quiet}s, mttd(latency/kill)=${mttd}, rca=${roots}`,
    );
  } finally {
    pipeline.child.kill('SIGTERM');
    await once(pipeline.child, 'exit');
  }
}

await main();
