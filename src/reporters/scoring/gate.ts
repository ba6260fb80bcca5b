import { formatPercent } from '../format/duration.ts';
import type { RunScore } from './run.ts';

/** Bounds of the acceptance gate. */
export interface GateThresholds {
  /** Minimum share of completed experiments detected, 0 to 1. Default 0.7. */
  detectedMin: number;
  /** Minimum share of detected experiments with a correct RCA, 0 to 1. Default 0.7. */
  rcaCorrectMin: number;
  /** Maximum number of alerts fired in baseline windows. Default 1. */
  falseAlarmsMax: number;
}

export const DEFAULT_GATE_THRESHOLDS: GateThresholds = {
  detectedMin: 0.7,
  rcaCorrectMin: 0.7,
  falseAlarmsMax: 1,
};

/** Verdict on one bound; `skipped` when the run contains nothing to measure it on. */
export interface BoundCheck {
  bound: 'detected' | 'rca_correct' | 'false_alarms';
  status: 'passed' | 'failed' | 'skipped';
  /** For example `detected 6/10 = 60% < 70% (short by 1 experiment)`. */
  message: string;
}

export interface GateResult {
  passed: boolean;
  checks: BoundCheck[];
}

/**
 * Checks a run against the gate. A run with experiments but none completed fails the detected
 * bound; a bound with nothing to measure (no detected experiments, no baseline windows) is skipped.
 */
export function evaluateGate(score: RunScore, thresholds: GateThresholds): GateResult {
  const checks = [
    checkShare('detected', score.matrix.truePositives, score.completed, thresholds.detectedMin),
    checkShare(
      'rca_correct',
      score.rcaCorrect,
      score.matrix.truePositives,
      thresholds.rcaCorrectMin,
    ),
    checkFalseAlarms(score, thresholds.falseAlarmsMax),
  ];
  if (score.completed === 0 && score.total > 0) {
    checks[0] = {
      bound: 'detected',
      status: 'failed',
      message: `detected 0/0: none of the ${score.total} experiments completed`,
    };
  }
  return { passed: checks.every((c) => c.status !== 'failed'), checks };
}

/** Returns the smallest count that meets `min` of `total`, robust to float error (0.7 * 10). */
export function requiredCount(min: number, total: number): number {
  return Math.ceil(min * total - 1e-9);
}

function checkShare(
  bound: 'detected' | 'rca_correct',
  count: number,
  total: number,
  min: number,
): BoundCheck {
  const label = bound === 'detected' ? 'detected' : 'RCA correct';
  if (total === 0) {
    const what = bound === 'detected' ? 'no completed experiments' : 'no detected experiments';
    return { bound, status: 'skipped', message: `${label} not checked (${what})` };
  }
  const shown = `${label} ${count}/${total} = ${formatPercent(count / total)}`;
  const needed = requiredCount(min, total);
  if (count >= needed) {
    return { bound, status: 'passed', message: `${shown} >= ${formatPercent(min)}` };
  }
  const short = needed - count;
  const unit = short === 1 ? 'experiment' : 'experiments';
  const message = `${shown} < ${formatPercent(min)} (short by ${short} ${unit})`;
  return { bound, status: 'failed', message };
}

function checkFalseAlarms(score: RunScore, max: number): BoundCheck {
  const bound = 'false_alarms';
  if (score.baselineWindows === 0) {
    return { bound, status: 'skipped', message: 'false alarms not checked (no baseline windows)' };
  }
  // An unreliable window is a quiet one, so no false alarm can have been seen in this case.
  if (score.unreliableWindows === score.baselineWindows) {
    return {
      bound,
      status: 'skipped',
      message: 'false alarms not checked (every baseline window had failed pipeline polls)',
    };
  }
  const shown = `false alarms ${score.falseAlarms}`;
  if (score.falseAlarms <= max) return { bound, status: 'passed', message: `${shown} <= ${max}` };
  const over = score.falseAlarms - max;
  return { bound, status: 'failed', message: `${shown} > ${max} (over by ${over})` };
}
