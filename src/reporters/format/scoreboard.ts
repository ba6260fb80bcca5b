import type { ExperimentOutcome } from '../scoring/experiment.ts';
import type { GateResult } from '../scoring/gate.ts';
import { formatRatio } from '../scoring/ratio.ts';
import type { RunScore } from '../scoring/run.ts';
import { formatDuration } from './duration.ts';

/** Placeholder for a missing value in the scoreboard. */
export const MISSING = '—';

const TABLE_HEADER = ['#', 'name', 'detected', 'mttd', 'rca_service', 'rca_correct'] as const;

/** Gate verdict of a run, or `off` when the gate was disabled (`CHAOS_GATE=off`). */
export type GateVerdict = { mode: 'on'; result: GateResult } | { mode: 'off' };

/**
 * Renders the scoreboard block printed at the end of a run: totals, the per-experiment table,
 * experiments not scored, gaps and the gate verdict. Ends with a newline.
 */
export function renderScoreboard(score: RunScore, gate: GateVerdict): string {
  const lines = [
    '==== Chaos Run ====',
    `Total: ${score.total}`,
    `Detected: ${score.matrix.truePositives}/${score.completed}`,
    `RCA correct: ${score.rcaCorrect}/${score.matrix.truePositives}`,
    `False alarms in baseline windows: ${falseAlarmsText(score)}`,
    `Precision: ${formatRatio(score.precision)}`,
    `Recall: ${formatRatio(score.recall)}`,
    `MTTD p50: ${optionalDuration(score.mttdP50Ms)}, p95: ${optionalDuration(score.mttdP95Ms)}`,
    '',
    'Per-experiment:',
    ...renderTable(score.outcomes.map(tableRow)),
    '',
  ];
  if (score.notScored.length > 0) {
    lines.push('Not scored:');
    for (const entry of score.notScored)
      lines.push(`- ${entry.id}: ${entry.status}: ${entry.reason}`);
    lines.push('');
  }
  lines.push('Gaps identified:');
  if (score.gaps.length === 0) lines.push('- none');
  for (const gap of score.gaps)
    lines.push(`- ${gap.id}: ${gap.symptom} → ${gap.stage}: ${gap.cause}`);
  lines.push('', ...renderGate(gate));
  return `${lines.join('\n')}\n`;
}

/** Renders the gate verdict: one `Gate failed:` line per failed bound, else one `Gate passed:`. */
export function renderGate(gate: GateVerdict): string[] {
  if (gate.mode === 'off') return ['Gate off (CHAOS_GATE=off)'];
  const { checks, passed } = gate.result;
  if (!passed) {
    return checks.filter((c) => c.status === 'failed').map((c) => `Gate failed: ${c.message}`);
  }
  return [`Gate passed: ${checks.map((c) => c.message).join(', ')}`];
}

function falseAlarmsText(score: RunScore): string {
  const { baselineWindows, falseAlarms } = score;
  // Results files written before the count existed lack it.
  const unreliableWindows = score.unreliableWindows ?? 0;
  if (baselineWindows === 0) return 'n/a (no baseline windows)';
  if (unreliableWindows === 0) return String(falseAlarms);
  if (unreliableWindows === baselineWindows)
    return 'unknown (every baseline window had failed pipeline polls, see Not scored)';
  return `${falseAlarms} (${unreliableWindows} of ${baselineWindows} baseline windows had failed pipeline polls and may miss some, see Not scored)`;
}

function optionalDuration(durationMs: number | undefined): string {
  return durationMs === undefined ? MISSING : formatDuration(durationMs);
}

function tableRow(outcome: ExperimentOutcome): string[] {
  const mttd = outcome.detected ? optionalDuration(outcome.mttdMs) : MISSING;
  const rcaService = outcome.rcaService ?? MISSING;
  return [
    outcome.id,
    outcome.name,
    detectedCell(outcome),
    mttd,
    rcaService,
    yesNo(outcome.rcaCorrect),
  ];
}

/** Returns `Y` or `N` for a scored experiment, else its status (`invalid`, `aborted`, `error`). */
function detectedCell(outcome: ExperimentOutcome): string {
  if (!outcome.scored) return outcome.status;
  return outcome.detected ? 'Y' : 'N';
}

function yesNo(value: boolean | undefined): string {
  if (value === undefined) return MISSING;
  return value ? 'Y' : 'N';
}

/** Renders a markdown-style table with every column padded to its widest cell. */
export function renderTable(
  rows: readonly string[][],
  header: readonly string[] = TABLE_HEADER,
): string[] {
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => (row[column] ?? '').length)),
  );
  const line = (cells: readonly string[]): string =>
    `| ${widths.map((width, column) => (cells[column] ?? '').padEnd(width)).join(' | ')} |`;
  const separator = `|${widths.map((width) => '-'.repeat(width + 2)).join('|')}|`;
  return [line(header), separator, ...rows.map(line)];
}
