import { mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import createDebug from 'debug';
import { z } from 'zod';
import { formatDuration } from '../duration.ts';
import type { StackInfo } from '../stack-info.ts';
import { errorMessage, SteadyStateError } from './errors.ts';
import { checkPrometheusQuery, queryRange } from './prometheus-api.ts';
import { createMetricsSampler, type ServiceSample } from './sampler.ts';

export { bandViolations, isInBand, type BandTolerance, type BandViolation } from './band.ts';

const log = createDebug('chaos:steady');

const seriesSchema = z.object({
  service: z.string(),
  /** `p99` (ms), `error_rate` (percent), `up` (0 or 1), or a gauge or query name. */
  metric: z.string(),
  mean: z.number(),
  p99: z.number(),
  samples: z.number().int().nonnegative(),
});

const baselineSchema = z.object({
  startedAtMs: z.number(),
  endedAtMs: z.number(),
  source: z.discriminatedUnion('kind', [
    z.object({ kind: z.literal('scrape'), services: z.array(z.string()), intervalMs: z.number() }),
    z.object({
      kind: z.literal('prometheus'),
      url: z.string(),
      queries: z.record(z.string(), z.string()),
      stepMs: z.number(),
    }),
  ]),
  series: z.array(seriesSchema),
});

/** Mean and p99 of one (service, metric) pair, measured before the campaign. */
export type BaselineSeries = z.infer<typeof seriesSchema>;

/** The steady state of the system as measured before the campaign, saved as `baseline.json`. */
export type Baseline = z.infer<typeof baselineSchema>;

/** Source of a baseline: direct scrapes of `/metrics` or range queries to Prometheus. */
export type BaselineSource =
  | { kind: 'scrape'; stack: StackInfo }
  /** `queries` maps `<service>:<metric>` to a PromQL expression that returns one series. */
  | { kind: 'prometheus'; url: string; queries: Record<string, string> };

/** Options of `captureBaseline`. */
export interface CaptureBaselineOptions {
  source: BaselineSource;
  /** How long to measure, in ms: 20000 in the quick profile, 300000 in the full one. */
  durationMs: number;
  /** Time between two samples in ms; the Prometheus range query uses it as its step. */
  intervalMs: number;
  /** Receives progress lines, for example from `createProgressReporter`. */
  onProgress?: (text: string) => void;
}

/** Returns the nearest-rank 99th percentile of values (the smallest value at or above 99% of them). */
export function nearestRankP99(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.max(1, Math.ceil(0.99 * sorted.length));
  return sorted[rank - 1] ?? Number.NaN;
}

/** Summarises one series: mean and nearest-rank p99 of its finite values. */
export function summarise(
  service: string,
  metric: string,
  values: readonly number[],
): BaselineSeries {
  const finite = values.filter((value) => Number.isFinite(value));
  const mean = finite.reduce((sum, value) => sum + value, 0) / finite.length;
  return { service, metric, mean, p99: nearestRankP99(finite), samples: finite.length };
}

async function waitWithProgress(
  endMs: number,
  what: string,
  onProgress?: (text: string) => void,
  captureEndMs = endMs,
) {
  for (;;) {
    const leftMs = endMs - Date.now();
    if (leftMs <= 0) return;
    onProgress?.(
      `capturing baseline: ${what}, ${formatDuration(Math.max(leftMs, captureEndMs - Date.now()))} left`,
    );
    await sleep(Math.min(leftMs, 1_000));
  }
}

function collect(
  into: Map<string, number[]>,
  service: string,
  metric: string,
  value: number | undefined,
) {
  if (value === undefined) return;
  const key = `${service}\u0000${metric}`;
  const values = into.get(key) ?? [];
  values.push(value);
  into.set(key, values);
}

function collectSample(into: Map<string, number[]>, sample: ServiceSample): void {
  collect(into, sample.service, 'up', sample.up);
  collect(into, sample.service, 'p99', sample.p99Ms);
  collect(into, sample.service, 'error_rate', sample.errorRatePercent);
  for (const [gauge, value] of Object.entries(sample.gauges))
    collect(into, sample.service, gauge, value);
}

async function captureByScrape(
  stack: StackInfo,
  options: CaptureBaselineOptions,
): Promise<Baseline> {
  const { durationMs, intervalMs } = options;
  const sampler = createMetricsSampler({ stack, windowMs: intervalMs });
  // The first scrape only sets the starting totals, so every kept sample covers one interval.
  await sampler.sampleServices();
  const startedAtMs = Date.now();
  const values = new Map<string, number[]>();
  const lastErrors = new Map<string, string>();
  for (let tick = 1; tick * intervalMs <= durationMs; tick += 1) {
    await waitWithProgress(
      startedAtMs + tick * intervalMs,
      `scraping ${stack.services.length} services`,
      options.onProgress,
      startedAtMs + durationMs,
    );
    for (const sample of await sampler.sampleServices()) {
      collectSample(values, sample);
      if (sample.error) lastErrors.set(sample.service, sample.error);
    }
  }
  const series = [...values].map(([key, list]) => {
    const [service = '', metric = ''] = key.split('\u0000');
    return summarise(service, metric, list);
  });
  checkServicesUp(series, lastErrors);
  const services = stack.services.map((service) => service.name);
  return {
    startedAtMs,
    endedAtMs: Date.now(),
    source: { kind: 'scrape', services, intervalMs },
    series,
  };
}

/**
 * Throws when a service was down for most of the capture, because a baseline that expects it down
 * would let the gate pass a sick system.
 */
function checkServicesUp(series: BaselineSeries[], lastErrors: Map<string, string>): void {
  const down = series.filter((entry) => entry.metric === 'up' && entry.mean < 0.5);
  if (down.length === 0) return;
  const list = down
    .map((entry) => `${entry.service} (${lastErrors.get(entry.service) ?? 'no scrape error kept'})`)
    .join(', ');
  throw new SteadyStateError(
    'BASELINE_INVALID',
    `Baseline capture could not scrape /metrics of ${list} for most of the capture. ` +
      'Fix the service or its metricsPath, then capture the baseline again.',
    { value: down.map((entry) => entry.service) },
  );
}

function splitQueryKey(key: string): { service: string; metric: string } {
  const separator = key.indexOf(':');
  if (separator <= 0 || separator === key.length - 1) {
    throw new SteadyStateError(
      'BASELINE_INVALID',
      `Baseline query key ${JSON.stringify(key)} is invalid: write it as <service>:<metric>, for example "checkout-svc:p99".`,
      { value: key },
    );
  }
  return { service: key.slice(0, separator), metric: key.slice(separator + 1) };
}

async function captureByPrometheus(
  source: Extract<BaselineSource, { kind: 'prometheus' }>,
  options: CaptureBaselineOptions,
): Promise<Baseline> {
  const entries = Object.entries(source.queries).map(([key, query]) => ({
    ...splitQueryKey(key),
    key,
    query,
  }));
  // Checking every query first makes a down Prometheus or bad PromQL fail now, not after the wait.
  for (const entry of entries) await checkPrometheusQuery(source.url, entry.query);
  const startedAtMs = Date.now();
  await waitWithProgress(
    startedAtMs + options.durationMs,
    `Prometheus at ${source.url}`,
    options.onProgress,
  );
  const endedAtMs = Date.now();
  const range = { startMs: startedAtMs, endMs: endedAtMs, stepMs: options.intervalMs };
  const series = [];
  for (const entry of entries) {
    const result = await queryRange(source.url, entry.query, range);
    if (result.length !== 1) {
      throw new SteadyStateError(
        'BASELINE_INVALID',
        `Baseline query ${entry.key} (${JSON.stringify(entry.query)}) returned ${result.length} series, expected 1. ` +
          'Aggregate it with sum(), max() or label matchers, or check that Prometheus scrapes the target.',
        { value: entry.query },
      );
    }
    const values = (result[0]?.points ?? []).map((point) => point.value);
    const summary = summarise(entry.service, entry.metric, values);
    if (summary.samples === 0) {
      throw new SteadyStateError(
        'BASELINE_INVALID',
        `Baseline query ${entry.key} returned no finite value.`,
        {
          value: entry.query,
        },
      );
    }
    series.push(summary);
  }
  const stepMs = options.intervalMs;
  return {
    startedAtMs,
    endedAtMs,
    source: { kind: 'prometheus', url: source.url, queries: source.queries, stepMs },
    series,
  };
}

/**
 * Measures the steady state for `durationMs` and returns, per (service, metric), the mean and the
 * nearest-rank p99 of the samples. From scrapes, each sample is one interval's p99 latency (ms),
 * error rate (percent), `up` and gauges. From Prometheus, each query is evaluated by
 * `query_range` over the capture period with `intervalMs` as the step.
 */
export async function captureBaseline(options: CaptureBaselineOptions): Promise<Baseline> {
  if (!(options.intervalMs > 0) || !(options.durationMs >= options.intervalMs)) {
    throw new SteadyStateError(
      'BASELINE_INVALID',
      `Baseline capture needs intervalMs > 0 and durationMs >= intervalMs (received ${options.intervalMs} and ${options.durationMs}).`,
      { value: options },
    );
  }
  log('capturing baseline from %s for %dms', options.source.kind, options.durationMs);
  const baseline =
    options.source.kind === 'scrape'
      ? await captureByScrape(options.source.stack, options)
      : await captureByPrometheus(options.source, options);
  log('baseline captured: %d series', baseline.series.length);
  return baseline;
}

/** Writes a baseline as JSON, through a temporary file so a reader never sees half of it. */
export function saveBaseline(file: string, baseline: Baseline): void {
  mkdirSync(dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  writeFileSync(temporary, `${JSON.stringify(baseline, null, 2)}\n`);
  renameSync(temporary, file);
}

/** Reads a baseline written by `saveBaseline`. Throws `SteadyStateError` (`BASELINE_INVALID`). */
export function loadBaseline(file: string): Baseline {
  let raw: unknown;
  try {
    raw = JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    throw new SteadyStateError(
      'BASELINE_INVALID',
      `Baseline ${file} cannot be read: ${errorMessage(error)}. Capture it again.`,
      {
        cause: error,
        value: file,
      },
    );
  }
  const parsed = baselineSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new SteadyStateError(
      'BASELINE_INVALID',
      `${file}: ${issue?.path.join('.') ?? ''} ${issue?.message ?? 'is invalid'}. Capture the baseline again.`,
      { cause: parsed.error, value: file },
    );
  }
  return parsed.data;
}
