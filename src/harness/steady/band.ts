import type { Baseline, BaselineSeries } from './baseline.ts';
import { servicePrefixes } from './sampler.ts';

/** How far a value may stray from its baseline before the system counts as out of band. */
export interface BandTolerance {
  /** Allowed growth over the baseline p99, as a fraction of it. Default 0.5. */
  ratio?: number;
  /** Minimum allowed growth of a latency p99 over its baseline p99, in ms. Default 100. */
  latencyMs?: number;
  /** Minimum allowed growth of an error rate over its baseline p99, in percentage points. Default 1. */
  errorRatePercent?: number;
  /** Also check gauges and other metrics, two-sided around their mean. Default false. */
  gauges?: boolean;
}

/** One value outside its baseline band. */
export interface BandViolation {
  service: string;
  metric: string;
  /** The condition variable that was compared, for example `checkout_svc_p99`. */
  variable: string;
  /** The current value, or `undefined` when the sample has none. */
  value: number | undefined;
  /** The band the value had to stay in. */
  lower: number;
  upper: number;
  /** One line for reasons and progress output. */
  message: string;
}

function variableOf(series: BaselineSeries): string {
  const prefix = servicePrefixes(series.service)[0] ?? series.service;
  const isSignal =
    series.metric === 'p99' || series.metric === 'error_rate' || series.metric === 'up';
  return isSignal ? `${prefix}_${series.metric}` : `${prefix}:${series.metric}`;
}

function bandOf(
  series: BaselineSeries,
  tolerance: Required<BandTolerance>,
): { lower: number; upper: number } {
  const { ratio } = tolerance;
  switch (series.metric) {
    case 'p99':
      return {
        lower: 0,
        upper: Math.max(series.p99 * (1 + ratio), series.p99 + tolerance.latencyMs),
      };
    case 'error_rate':
      return {
        lower: 0,
        upper: Math.max(series.p99 * (1 + ratio), series.p99 + tolerance.errorRatePercent),
      };
    case 'up':
      // A service that was up for most of the baseline must be up now.
      return { lower: series.mean >= 0.5 ? 1 : 0, upper: 1 };
    default: {
      const spread = Math.max(
        2 * Math.abs(series.p99 - series.mean),
        ratio * Math.abs(series.mean),
      );
      return { lower: series.mean - spread, upper: series.mean + spread };
    }
  }
}

function format(value: number): string {
  return Number.isInteger(value) ? String(value) : value.toFixed(1);
}

/**
 * Lists the values outside their baseline band. Latency p99 and error rate only have an upper
 * bound. A service that was up in the baseline must have `up` 1, and a missing `up` counts as a
 * violation. A p99 or error rate with no value (no request in the window) is skipped. Gauges are
 * checked only with `tolerance.gauges`.
 */
export function bandViolations(
  baseline: Baseline,
  values: Record<string, number>,
  tolerance: number | BandTolerance = {},
): BandViolation[] {
  const options = typeof tolerance === 'number' ? { ratio: tolerance } : tolerance;
  const resolved: Required<BandTolerance> = {
    ratio: options.ratio ?? 0.5,
    latencyMs: options.latencyMs ?? 100,
    errorRatePercent: options.errorRatePercent ?? 1,
    gauges: options.gauges ?? false,
  };
  const violations: BandViolation[] = [];
  for (const series of baseline.series) {
    const isSignal =
      series.metric === 'p99' || series.metric === 'error_rate' || series.metric === 'up';
    if (!isSignal && !resolved.gauges) continue;
    const variable = variableOf(series);
    const value = values[variable];
    if (value === undefined && series.metric !== 'up') continue;
    const { lower, upper } = bandOf(series, resolved);
    if (value !== undefined && value >= lower && value <= upper) continue;
    const shown = value === undefined ? 'no value' : format(value);
    violations.push({
      ...{ service: series.service, metric: series.metric, variable, value, lower, upper },
      message: `${variable} ${shown} outside its baseline band ${format(lower)}..${format(upper)}`,
    });
  }
  return violations;
}

/** Tells whether every checked value is inside its baseline band (see `bandViolations`). */
export function isInBand(
  baseline: Baseline,
  values: Record<string, number>,
  tolerance?: number | BandTolerance,
): boolean {
  return bandViolations(baseline, values, tolerance).length === 0;
}
