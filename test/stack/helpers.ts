import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import type { StackInfo } from '../../src/harness/stack-info.ts';

/** One sample of Prometheus text: metric name, labels and value. */
export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** Parses Prometheus text exposition into samples (comments skipped). */
export function parseMetrics(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][\w:]*)(\{(.*)\})?\s+(\S+)/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const pair of (match[3] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) {
      labels[pair[1]!] = pair[2]!;
    }
    samples.push({ name: match[1]!, labels, value: Number(match[4]) });
  }
  return samples;
}

export function serviceUrl(info: StackInfo, name: string): string {
  const service = info.services.find((candidate) => candidate.name === name);
  if (!service) throw new Error(`no service ${name}`);
  return service.url;
}

/** Scrapes a service's /metrics. */
export async function scrape(info: StackInfo, service: string): Promise<Sample[]> {
  const response = await fetch(`${serviceUrl(info, service)}/metrics`, {
    signal: AbortSignal.timeout(3_000),
  });
  return parseMetrics(await response.text());
}

/** Sums the samples of a metric whose labels include `labels`. */
export function sum(samples: Sample[], name: string, labels: Record<string, string> = {}): number {
  return samples
    .filter((sample) => sample.name === name)
    .filter((sample) =>
      Object.entries(labels).every(([key, value]) => sample.labels[key] === value),
    )
    .reduce((total, sample) => total + sample.value, 0);
}

/** Counter increase between two scrapes. */
export function delta(
  before: Sample[],
  after: Sample[],
  name: string,
  labels: Record<string, string> = {},
): number {
  return sum(after, name, labels) - sum(before, name, labels);
}

/** Mean of a histogram between two scrapes, in the histogram's unit; NaN without observations. */
export function meanBetween(
  before: Sample[],
  after: Sample[],
  histogram: string,
  labels: Record<string, string> = {},
): number {
  const count = delta(before, after, `${histogram}_count`, labels);
  return delta(before, after, `${histogram}_sum`, labels) / count;
}

/** Upper bucket bound under which `quantile` of the observations between two scrapes fall. */
export function quantileBetween(
  before: Sample[],
  after: Sample[],
  histogram: string,
  quantile: number,
  labels: Record<string, string> = {},
): number {
  const bounds = [
    ...new Set(
      after
        .filter((sample) => sample.name === `${histogram}_bucket`)
        .map((sample) => sample.labels.le!),
    ),
  ].sort((a, b) => Number(a) - Number(b));
  const total = delta(before, after, `${histogram}_count`, labels);
  for (const le of bounds) {
    const below = delta(before, after, `${histogram}_bucket`, { ...labels, le });
    if (below >= total * quantile) return Number(le);
  }
  return Infinity;
}

/** Scrapes a service twice, `windowMs` apart, while traffic flows. */
export async function window(
  info: StackInfo,
  service: string,
  windowMs: number,
): Promise<{ before: Sample[]; after: Sample[] }> {
  const before = await scrape(info, service);
  await sleep(windowMs);
  return { before, after: await scrape(info, service) };
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Result of one probe call. */
export interface ProbeResult {
  status: number | 'timeout' | 'error';
  durationMs: number;
}

/** Calls a URL `count` times, `intervalMs` apart, each with a timeout; returns every result. */
export async function probe(
  url: string,
  count: number,
  intervalMs: number,
  timeoutMs = 5_000,
): Promise<ProbeResult[]> {
  const calls: Promise<ProbeResult>[] = [];
  for (let index = 0; index < count; index += 1) {
    calls.push(probeOnce(url, timeoutMs));
    await sleep(intervalMs);
  }
  return Promise.all(calls);
}

export async function probeOnce(url: string, timeoutMs = 5_000): Promise<ProbeResult> {
  const startedAt = performance.now();
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    await response.arrayBuffer();
    return { status: response.status, durationMs: performance.now() - startedAt };
  } catch (error) {
    const timedOut = error instanceof Error && error.name === 'TimeoutError';
    return { status: timedOut ? 'timeout' : 'error', durationMs: performance.now() - startedAt };
  }
}

export function successRate(results: ProbeResult[]): number {
  return results.filter((result) => result.status === 200).length / results.length;
}

/** Pids of processes whose command line contains `text`, without this process. */
export function pidsMatching(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)) pids.push(Number(entry));
    } catch {
      // Exited while listing.
    }
  }
  return pids;
}

/** Mount points whose path contains `text`. */
export function mountsMatching(text: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4] ?? '')
    .filter((mount) => mount.includes(text));
}

/** Folders under a cgroup v1 controller whose name contains `text`. */
export function cgroupsMatching(controller: string, text: string): string[] {
  const output = execFileSync(
    'find',
    [`/sys/fs/cgroup/${controller}`, '-maxdepth', '3', '-type', 'd'],
    {
      encoding: 'utf8',
    },
  );
  return output.split('\n').filter((dir) => dir.includes(text));
}

/** Polls until the check holds; throws with the last value after the timeout. */
export async function eventually<T>(
  read: () => Promise<T> | T,
  holds: (value: T) => boolean,
  timeoutMs: number,
  stepMs = 250,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (holds(value)) return value;
    if (Date.now() > deadline)
      throw new Error(`condition not met within ${timeoutMs} ms: ${JSON.stringify(value)}`);
    await sleep(stepMs);
  }
}

/** Scrapes several services twice, `windowMs` apart. */
export async function windows(
  info: StackInfo,
  services: string[],
  windowMs: number,
): Promise<Record<string, { before: Sample[]; after: Sample[] }>> {
  const before = await Promise.all(services.map((service) => scrape(info, service)));
  await sleep(windowMs);
  const after = await Promise.all(services.map((service) => scrape(info, service)));
  return Object.fromEntries(
    services.map((service, index) => [service, { before: before[index]!, after: after[index]! }]),
  );
}

/** Percentile of a sample by nearest rank, `p` in 0..100. */
export function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] ?? Number.NaN;
}
