import createDebug from 'debug';
import type { ServiceInfo, StackInfo } from '../stack-info.ts';
import { errorMessage } from './errors.ts';
import {
  histogramBuckets,
  histogramQuantile,
  parseMetricsText,
  sumSamples,
  type ParsedMetrics,
} from './metrics-text.ts';

const log = createDebug('chaos:steady');

const DURATION_HISTOGRAM = 'http_server_request_duration_seconds';
const REQUESTS_COUNTER = 'http_server_requests_total';

/** Signals of one service computed from two scrapes of its `/metrics`. */
export interface ServiceSample {
  service: string;
  /** 1 when `/metrics` returned HTTP 200 with Prometheus text, else 0. */
  up: 0 | 1;
  /** 99th percentile of server latency over the window in ms, absent without requests. */
  p99Ms?: number;
  /** Share of requests that got a 5xx status over the window in percent, absent without requests. */
  errorRatePercent?: number;
  /** Requests served over the window. */
  requests: number;
  /** Gauges of the last scrape by metric name, the maximum over label sets. */
  gauges: Record<string, number>;
  /** Reason the scrape failed, when `up` is 0. */
  error?: string;
}

/** Scrapes the services of a stack and turns their metrics into condition variables. */
export interface MetricsSampler {
  /**
   * Scrapes every service once and returns condition variables: `<service>_p99` (ms),
   * `<service>_error_rate` (percent), `<service>_up` (0 or 1) and `<service>:<gauge>`. Each
   * service appears under its name with dashes as underscores, and also without a `-svc` suffix.
   */
  sample(): Promise<Record<string, number>>;
  /** Scrapes every service once and returns the signals per service. */
  sampleServices(): Promise<ServiceSample[]>;
  /** Names of the services it scrapes. */
  readonly services: readonly string[];
}

/** Options of the metrics sampler. */
export interface MetricsSamplerOptions {
  stack: StackInfo;
  /** Span the latency percentile and error rate are computed over, in ms. Default 10000. */
  windowMs?: number;
  /** A scrape gives up after this many ms. Default 2000. */
  timeoutMs?: number;
}

/** Counter and bucket totals of one scrape, the inputs of the window deltas. */
interface ScrapeTotals {
  atMs: number;
  buckets: Map<number, number>;
  requests: number;
  errors: number;
}

/** Returns the variable prefixes of a service: `checkout-svc` gives `checkout_svc` and `checkout`. */
export function servicePrefixes(service: string): string[] {
  const underscored = service.replace(/[^A-Za-z0-9_]/g, '_');
  const short = underscored.replace(/_svc$/, '');
  return short !== underscored && short !== '' ? [underscored, short] : [underscored];
}

function isServerError(labels: Record<string, string>): boolean {
  return /^5\d\d$/.test(labels.status ?? '');
}

function totalsOf(metrics: ParsedMetrics, atMs: number): ScrapeTotals {
  return {
    atMs,
    buckets: histogramBuckets(metrics, DURATION_HISTOGRAM),
    requests: sumSamples(metrics, REQUESTS_COUNTER),
    errors: sumSamples(metrics, REQUESTS_COUNTER, isServerError),
  };
}

/** True when any total went down, which means the service restarted and its counters reset. */
function wasReset(current: ScrapeTotals, earlier: ScrapeTotals): boolean {
  if (current.requests < earlier.requests) return true;
  for (const [bound, count] of earlier.buckets) {
    if ((current.buckets.get(bound) ?? 0) < count) return true;
  }
  return false;
}

/** Computes latency and error signals between an earlier scrape (or zero) and the current one. */
function windowSignals(current: ScrapeTotals, earlier: ScrapeTotals | undefined) {
  const base = earlier && !wasReset(current, earlier) ? earlier : undefined;
  const buckets = new Map<number, number>();
  for (const [bound, count] of current.buckets) {
    buckets.set(bound, count - (base?.buckets.get(bound) ?? 0));
  }
  const requests = current.requests - (base?.requests ?? 0);
  const errors = current.errors - (base?.errors ?? 0);
  const p99Seconds = histogramQuantile(0.99, buckets);
  return {
    requests,
    p99Ms: p99Seconds === undefined ? undefined : p99Seconds * 1_000,
    errorRatePercent: requests > 0 ? (errors / requests) * 100 : undefined,
  };
}

function gaugesOf(metrics: ParsedMetrics): Record<string, number> {
  const gauges: Record<string, number> = {};
  for (const sample of metrics.samples) {
    if (metrics.types.get(sample.name) !== 'gauge' || !Number.isFinite(sample.value)) continue;
    // NOTE: a gauge with several label sets (disk_free_bytes per path) is reduced to its maximum,
    // which is the conservative side for saturation gauges but not for free-space gauges.
    const previous = gauges[sample.name];
    gauges[sample.name] = previous === undefined ? sample.value : Math.max(previous, sample.value);
  }
  return gauges;
}

async function scrape(service: ServiceInfo, timeoutMs: number): Promise<ParsedMetrics> {
  const url = new URL(service.metricsPath, service.url);
  const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
  const body = await response.text();
  if (response.status !== 200) {
    throw new Error(`GET ${url.href} returned HTTP ${response.status}`);
  }
  return parseMetricsText(body);
}

/** Turns per-service signals into the flat condition variables of `MetricsSampler.sample`. */
export function toConditionVariables(samples: ServiceSample[]): Record<string, number> {
  const values: Record<string, number> = {};
  for (const sample of samples) {
    for (const prefix of servicePrefixes(sample.service)) {
      values[`${prefix}_up`] = sample.up;
      if (sample.p99Ms !== undefined) values[`${prefix}_p99`] = sample.p99Ms;
      if (sample.errorRatePercent !== undefined) {
        values[`${prefix}_error_rate`] = sample.errorRatePercent;
      }
      for (const [gauge, value] of Object.entries(sample.gauges)) {
        values[`${prefix}:${gauge}`] = value;
      }
    }
  }
  return values;
}

/**
 * Creates a sampler of the stack's `/metrics` endpoints. Latency p99 and error rate are deltas
 * between the current scrape and the latest scrape at least `windowMs` old (or the oldest one
 * kept). A failed scrape or a body that is not Prometheus text gives `up` 0 and no other signal.
 */
export function createMetricsSampler(options: MetricsSamplerOptions): MetricsSampler {
  const windowMs = options.windowMs ?? 10_000;
  const timeoutMs = options.timeoutMs ?? 2_000;
  const history = new Map<string, ScrapeTotals[]>();

  const earlierTotals = (service: string, nowMs: number): ScrapeTotals | undefined => {
    const kept = history.get(service) ?? [];
    // NOTE: before the first full window the oldest scrape is the base, and before any earlier
    // scrape the totals since the service started are used.
    const old = kept.filter((totals) => totals.atMs <= nowMs - windowMs);
    return old.at(-1) ?? kept[0];
  };

  const remember = (service: string, totals: ScrapeTotals): void => {
    const kept = [...(history.get(service) ?? []), totals];
    const cutoffMs = totals.atMs - windowMs;
    const lastOldIndex = kept.findLastIndex((entry) => entry.atMs <= cutoffMs);
    history.set(service, kept.slice(Math.max(0, lastOldIndex)));
  };

  const sampleService = async (service: ServiceInfo): Promise<ServiceSample> => {
    const atMs = Date.now();
    let metrics: ParsedMetrics;
    try {
      metrics = await scrape(service, timeoutMs);
    } catch (error) {
      log('scrape of %s failed: %s', service.name, errorMessage(error));
      return { service: service.name, up: 0, requests: 0, gauges: {}, error: errorMessage(error) };
    }
    const totals = totalsOf(metrics, atMs);
    const signals = windowSignals(totals, earlierTotals(service.name, atMs));
    remember(service.name, totals);
    return { service: service.name, up: 1, ...signals, gauges: gaugesOf(metrics) };
  };

  const sampleServices = (): Promise<ServiceSample[]> =>
    Promise.all(options.stack.services.map(sampleService));

  return {
    services: options.stack.services.map((service) => service.name),
    sampleServices,
    sample: async () => toConditionVariables(await sampleServices()),
  };
}
