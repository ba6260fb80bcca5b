import parsePrometheusTextFormat from 'parse-prometheus-text-format';
import { z } from 'zod';
import { SteadyStateError } from './errors.ts';

/** One sample of a Prometheus text exposition. */
export interface MetricSample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

/** A parsed `/metrics` body: every sample, and the declared type of each metric family. */
export interface ParsedMetrics {
  samples: MetricSample[];
  /** Family name to its `# TYPE` in lower case (`counter`, `gauge`, `histogram`, `untyped`). */
  types: Map<string, string>;
}

/** The part of the parser's output this module reads; histograms arrive as untyped samples. */
const familiesSchema = z.array(
  z.object({
    name: z.string(),
    type: z.string(),
    metrics: z.array(
      z.object({
        value: z.string().optional(),
        labels: z.record(z.string(), z.string()).optional(),
      }),
    ),
  }),
);

const HISTOGRAM_TYPE_LINE = /^#\s*TYPE\s+(\S+)\s+histogram\s*$/gm;

/**
 * Parses Prometheus text format with `parse-prometheus-text-format`. Throws `SteadyStateError`
 * (`METRICS_INVALID`) when the text cannot be parsed or contains no sample at all, which is
 * what an HTML page or other garbage parses to.
 */
export function parseMetricsText(text: string): ParsedMetrics {
  const histograms = new Set<string>();
  // NOTE: parse-prometheus-text-format 1.1.1 merges the buckets of all label sets of a histogram
  // into one (its flattening handles only unlabelled histograms). Declaring histograms untyped
  // makes it return every `_bucket` sample with its labels, which this module sums itself.
  const untyped = text.replace(HISTOGRAM_TYPE_LINE, (_line, name: string) => {
    histograms.add(name);
    return `# TYPE ${name} untyped`;
  });
  let families: z.infer<typeof familiesSchema>;
  try {
    families = familiesSchema.parse(parsePrometheusTextFormat(untyped));
  } catch (error) {
    throw new SteadyStateError(
      'METRICS_INVALID',
      `Metrics text is not Prometheus text format: ${(error as Error).message}`,
      {
        cause: error,
        value: text.slice(0, 200),
      },
    );
  }
  const samples: MetricSample[] = [];
  const types = new Map<string, string>();
  for (const family of families) {
    const type = histograms.has(family.name) ? 'histogram' : family.type.toLowerCase();
    if (!types.has(family.name)) types.set(family.name, type);
    for (const metric of family.metrics) {
      const value = parseSampleValue(metric.value);
      if (value === undefined) continue;
      samples.push({ name: family.name, labels: metric.labels ?? {}, value });
    }
  }
  if (samples.length === 0) {
    throw new SteadyStateError(
      'METRICS_INVALID',
      `Metrics text contains no Prometheus sample (starts with ${JSON.stringify(text.slice(0, 60))}).`,
      { value: text.slice(0, 200) },
    );
  }
  return { samples, types };
}

function parseSampleValue(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (value === '+Inf') return Number.POSITIVE_INFINITY;
  if (value === '-Inf') return Number.NEGATIVE_INFINITY;
  const number = Number(value);
  return Number.isNaN(number) && value !== 'NaN' ? undefined : number;
}

/** Cumulative bucket counts of a histogram summed over all its label sets, keyed by `le`. */
export function histogramBuckets(metrics: ParsedMetrics, histogram: string): Map<number, number> {
  const buckets = new Map<number, number>();
  const bucketName = `${histogram}_bucket`;
  for (const sample of metrics.samples) {
    if (sample.name !== bucketName || sample.labels.le === undefined) continue;
    const bound = parseSampleValue(sample.labels.le);
    if (bound === undefined) continue;
    buckets.set(bound, (buckets.get(bound) ?? 0) + sample.value);
  }
  return buckets;
}

/** Sums the samples of a metric whose labels pass `filter`. */
export function sumSamples(
  metrics: ParsedMetrics,
  name: string,
  filter: (labels: Record<string, string>) => boolean = () => true,
): number {
  let total = 0;
  for (const sample of metrics.samples) {
    if (sample.name === name && filter(sample.labels)) total += sample.value;
  }
  return total;
}

/**
 * Estimates a quantile from cumulative bucket counts the way PromQL's `histogram_quantile` does:
 * linear interpolation inside the bucket that contains the rank, the lower bound of the first bucket
 * taken as 0, and the largest finite bound returned when the rank falls in the `+Inf` bucket.
 * Returns `undefined` when the buckets hold no observation.
 */
export function histogramQuantile(
  quantile: number,
  buckets: Map<number, number>,
): number | undefined {
  const bounds = [...buckets.keys()].sort((a, b) => a - b);
  const total = buckets.get(Number.POSITIVE_INFINITY) ?? buckets.get(bounds.at(-1) ?? 0) ?? 0;
  if (bounds.length === 0 || !(total > 0)) return undefined;
  const rank = quantile * total;
  let lowerBound = 0;
  let lowerCount = 0;
  for (const bound of bounds) {
    const count = buckets.get(bound) ?? 0;
    if (count >= rank) {
      if (bound === Number.POSITIVE_INFINITY) return lowerBound;
      if (count === lowerCount) return bound;
      return lowerBound + ((bound - lowerBound) * (rank - lowerCount)) / (count - lowerCount);
    }
    lowerBound = bound;
    lowerCount = count;
  }
  return lowerBound;
}
