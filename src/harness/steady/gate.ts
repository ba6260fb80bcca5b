import { setTimeout as sleep } from 'node:timers/promises';
import createDebug from 'debug';
import { formatDuration } from '../duration.ts';
import { bandViolations, type BandTolerance } from './band.ts';
import type { Baseline } from './baseline.ts';
import { errorMessage } from './errors.ts';
import type { ProbeReader } from './probe-log.ts';
import { formatPercent } from './progress.ts';
import type { MetricsSampler } from './sampler.ts';

const log = createDebug('chaos:steady');

/** The signals that define "system OK" and how strictly they are judged. */
export interface SteadyStateSignals {
  probe: ProbeReader;
  /** Scrapes the services; without a baseline every service must merely be up. */
  sampler?: MetricsSampler;
  baseline?: Baseline;
  /** The probe pass rate is taken over the last `windowMs`: 10000 quick, 60000 full. */
  windowMs: number;
  /** Lowest probe pass rate (0..1) that counts as steady. Default 0.99. */
  minPassRate?: number;
  /** How far metrics may stray from the baseline. Defaults of `bandViolations`. */
  tolerance?: number | BandTolerance;
}

/** The outcome of one look at the signals. */
export interface SteadyStateCheck {
  steady: boolean;
  /** True when the probe pass rate alone is good enough. */
  probeSteady: boolean;
  /** True when the metrics alone are in band, or no sampler was given. */
  metricsSteady: boolean;
  /** Problems found, one entry per signal that is not steady, empty when steady. */
  problems: string[];
}

/**
 * Looks at the signals once: the probe pass rate over the last window and, with a sampler, the
 * services' metrics against the baseline band. A window without probe checks, a window whose
 * older half has no check (the probe has not run for a whole window yet, or its checks stall),
 * and a failed sample count as not steady. The window should span at least two probe intervals.
 */
export async function checkSteadyState(
  signals: SteadyStateSignals,
  nowMs = Date.now(),
): Promise<SteadyStateCheck> {
  const minPassRate = signals.minPassRate ?? 0.99;
  const probeProblems: string[] = [];
  const passRate = signals.probe.passRate(nowMs - signals.windowMs, nowMs);
  const windowText = formatDuration(signals.windowMs);
  // A window counts only when the probe covered it, because one passing check of a probe
  // started a moment ago tells nothing about the rest of the window.
  const olderHalf = signals.probe.passRate(nowMs - signals.windowMs, nowMs - signals.windowMs / 2);
  if (passRate === null) probeProblems.push(`no probe check in the last ${windowText}`);
  else if (passRate < minPassRate) {
    probeProblems.push(
      `probe ${formatPercent(passRate)} over the last ${windowText} (needs ${formatPercent(minPassRate)})`,
    );
  } else if (olderHalf === null) {
    probeProblems.push(`probe checks cover only the newest half of the last ${windowText}`);
  }
  const metricsProblems = signals.sampler ? await metricProblems(signals, signals.sampler) : [];
  const problems = [...probeProblems, ...metricsProblems];
  return {
    steady: problems.length === 0,
    probeSteady: probeProblems.length === 0,
    metricsSteady: metricsProblems.length === 0,
    problems,
  };
}

async function metricProblems(
  signals: SteadyStateSignals,
  sampler: MetricsSampler,
): Promise<string[]> {
  let values: Record<string, number>;
  try {
    values = await sampler.sample();
  } catch (error) {
    return [`metrics sample failed: ${errorMessage(error)}`];
  }
  if (signals.baseline) {
    return bandViolations(signals.baseline, values, signals.tolerance).map(
      (violation) => violation.message,
    );
  }
  return Object.entries(values)
    .filter(([name, value]) => name.endsWith('_up') && value !== 1)
    .map(([name]) => `${name} is 0 (its /metrics cannot be scraped)`);
}

/** Options of `waitForSteadyState`. */
export interface WaitForSteadyStateOptions extends SteadyStateSignals {
  /** Give up after this many ms: the experiment is then invalid. */
  timeoutMs: number;
  /** Time between two looks, in ms. Default 1000. */
  pollIntervalMs?: number;
  onProgress?: (text: string) => void;
}

/** The verdict of the steady-state gate. */
export type SteadyStateResult =
  { steady: true; waitedMs: number } | { steady: false; reason: string; waitedMs: number };

/**
 * Waits until the system is steady (see `checkSteadyState`) or `timeoutMs` passes. Returns
 * `{ steady: false, reason }` instead of throwing, so the caller marks the experiment invalid
 * rather than running it on a sick system.
 */
export async function waitForSteadyState(
  options: WaitForSteadyStateOptions,
): Promise<SteadyStateResult> {
  const startedAtMs = Date.now();
  const deadlineMs = startedAtMs + options.timeoutMs;
  for (;;) {
    const check = await checkSteadyState(options);
    const waitedMs = Date.now() - startedAtMs;
    if (check.steady) {
      log('steady state reached after %dms', waitedMs);
      return { steady: true, waitedMs };
    }
    const leftMs = deadlineMs - Date.now();
    if (leftMs <= 0) {
      const reason = `not steady within ${formatDuration(options.timeoutMs)}: ${check.problems.join('; ')}`;
      log('steady-state gate failed: %s', reason);
      return { steady: false, reason, waitedMs };
    }
    options.onProgress?.(
      `waiting for steady state: ${check.problems.join('; ')}, ${formatDuration(leftMs)} left`,
    );
    await sleep(Math.min(options.pollIntervalMs ?? 1_000, leftMs));
  }
}
