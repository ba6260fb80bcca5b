import type { BaselineWindowRecord, ExperimentRecord } from '../../harness/record.ts';
import { compareIds, scoreExperiment, type ExperimentOutcome } from './experiment.ts';
import { findGap, GAP_STAGE_ORDER, type Gap } from './gaps.ts';
import { scoreRcaBaselines, type RcaBaseline } from './baselines.ts';
import { nearestRankPercentile, ratio, type Ratio } from './ratio.ts';

/** Cells of the confusion matrix: experiments on the fault row, baseline windows on the other. */
export interface ConfusionMatrix {
  /** Completed experiments with an alert in their detection window. */
  truePositives: number;
  /** Completed experiments without one. */
  falseNegatives: number;
  /** Baseline windows with at least one alert. */
  falsePositives: number;
  /** Quiet baseline windows. */
  trueNegatives: number;
}

/** Everything the scoreboard, the results file and the report show about a run. */
export interface RunScore {
  /** All experiment records, whatever their status. */
  total: number;
  /** Completed experiments: the denominator of recall. */
  completed: number;
  matrix: ConfusionMatrix;
  baselineWindows: number;
  /** Alerts fired inside baseline windows (one window can hold several false alarms). */
  falseAlarms: number;
  /** Quiet baseline windows with failed pipeline polls, whose false alarms may be missing. */
  unreliableWindows: number;
  /** Alerts fired during cooldowns, which count for neither side. */
  cooldownAlerts: number;
  precision: Ratio;
  recall: Ratio;
  rcaCorrect: number;
  rcaAccuracy: Ratio;
  mttdP50Ms?: number;
  mttdP95Ms?: number;
  /** One entry per experiment id, in id order. */
  outcomes: ExperimentOutcome[];
  /** Invalid, aborted and harness-error experiments with their reason. */
  notScored: { id: string; name: string; status: string; reason: string }[];
  /** Missed experiments in id order. */
  gaps: Gap[];
  rcaBaselines: RcaBaseline[];
}

/** Scores a run from its experiment and baseline-window records. Pure: no I/O, no clock. */
export function scoreRun(
  experiments: readonly ExperimentRecord[],
  windows: readonly BaselineWindowRecord[],
): RunScore {
  const records = [...experiments].sort((a, b) => compareIds(a.id, b.id));
  const outcomes = records.map(scoreExperiment);
  const scored = outcomes.filter((o) => o.scored);
  const detected = scored.filter((o) => o.detected);
  const matrix = confusionMatrixOf(scored, windows);
  const rcaCorrect = detected.filter((o) => o.rcaCorrect === true).length;

  const score: RunScore = {
    total: records.length,
    completed: scored.length,
    matrix,
    baselineWindows: windows.length,
    falseAlarms: windows.reduce((sum, w) => sum + w.alerts.length, 0),
    unreliableWindows: windows.filter(isUnreliable).length,
    cooldownAlerts: windows.reduce((sum, w) => sum + (w.cooldownAlerts?.length ?? 0), 0),
    precision: precisionOf(matrix, windows.length),
    recall: ratio(matrix.truePositives, scored.length, 'no completed experiments'),
    rcaCorrect,
    rcaAccuracy: ratio(rcaCorrect, detected.length, 'no detected experiments'),
    outcomes,
    notScored: [...notScoredOf(records), ...unreliableWindowsOf(windows)],
    gaps: gapsOf(records, outcomes),
    rcaBaselines: scoreRcaBaselines(records),
  };

  const mttds = detected.flatMap((o) => (o.mttdMs === undefined ? [] : [o.mttdMs]));
  const p50 = nearestRankPercentile(mttds, 50);
  const p95 = nearestRankPercentile(mttds, 95);
  if (p50 !== undefined) score.mttdP50Ms = p50;
  if (p95 !== undefined) score.mttdP95Ms = p95;
  return score;
}

/** Fills the matrix from scored experiments and baseline windows. */
function confusionMatrixOf(
  scored: readonly ExperimentOutcome[],
  windows: readonly BaselineWindowRecord[],
): ConfusionMatrix {
  const detectedCount = scored.filter((o) => o.detected).length;
  return {
    truePositives: detectedCount,
    falseNegatives: scored.length - detectedCount,
    falsePositives: windows.filter((w) => w.alerts.length > 0).length,
    trueNegatives: windows.filter((w) => w.alerts.length === 0 && w.pipelineErrors.length === 0)
      .length,
  };
}

/** Lists the gaps of `records`, whose outcomes are at the same index in `outcomes`. */
function gapsOf(
  records: readonly ExperimentRecord[],
  outcomes: readonly ExperimentOutcome[],
): Gap[] {
  return records.flatMap((record, index) => {
    const gap = findGap(record, outcomes[index] ?? scoreExperiment(record));
    return gap === undefined ? [] : [gap];
  });
}

/**
 * Precision over experiments and baseline windows. Without any baseline window false alarms were
 * never measured, so precision is not defined even when experiments were detected.
 */
function precisionOf(matrix: ConfusionMatrix, windowCount: number): Ratio {
  if (windowCount === 0) return ratio(matrix.truePositives, 0, 'no baseline windows');
  const alerted = matrix.truePositives + matrix.falsePositives;
  return ratio(matrix.truePositives, alerted, 'no alerts');
}

function notScoredOf(records: readonly ExperimentRecord[]): RunScore['notScored'] {
  return records
    .filter((r) => r.status !== 'completed')
    .map((r) => ({
      id: r.id,
      name: r.name,
      status: r.status,
      reason: r.reason ?? 'no reason recorded',
    }));
}

/**
 * Lists quiet baseline windows with failed pipeline polls. A failed poll may have hidden a false
 * alarm, so such a window is not counted as a true negative.
 */
function unreliableWindowsOf(windows: readonly BaselineWindowRecord[]): RunScore['notScored'] {
  return windows.filter(isUnreliable).map((w) => ({
    id: 'baseline window',
    name: 'baseline window',
    status: 'unreliable',
    reason: `no alert seen, but ${w.pipelineErrors.length} pipeline error(s) while watching, so false alarms may be missing (first: ${w.pipelineErrors[0]!.stage}: ${w.pipelineErrors[0]!.message})`,
  }));
}

function isUnreliable(window: BaselineWindowRecord): boolean {
  return window.alerts.length === 0 && window.pipelineErrors.length > 0;
}

/** Returns the gaps ordered by severity (stage), then by experiment id. */
export function rankGaps(gaps: readonly Gap[]): Gap[] {
  const rank = (gap: Gap): number => GAP_STAGE_ORDER.indexOf(gap.stage);
  return [...gaps].sort((a, b) => rank(a) - rank(b) || compareIds(a.id, b.id));
}
