import type { ExperimentRecord } from '../../harness/record.ts';
import type { ExperimentOutcome } from '../scoring/experiment.ts';
import { formatRatio } from '../scoring/ratio.ts';
import { rankGaps } from '../scoring/run.ts';
import type { ResultsFile } from '../results/schema.ts';
import type { ScoredRun } from '../results/build.ts';
import { formatDuration } from './duration.ts';
import { renderScoreboard, renderTable } from './scoreboard.ts';

/** Renders `chaos_report.md`. `probeLogName` is the probe log's file name when it exists. */
export function renderReport(run: ScoredRun, probeLogName: string | undefined): string {
  const sections = [
    '# Chaos run report',
    renderSetup(run.file, probeLogName),
    `## Results\n\n\`\`\`text\n${renderScoreboard(run.score, run.gate)}\`\`\``,
    renderLift(run),
    renderExperiments(run.file.experiments),
    renderTopGaps(run),
  ];
  return `${sections.join('\n\n')}\n`;
}

function renderSetup(file: ResultsFile, probeLogName: string | undefined): string {
  const { setup } = file;
  const window = setup.baselineWindow;
  const lines = [
    '## Setup',
    '',
    `- Framework: vitest-chaos ${setup.frameworkVersion}, git commit ${setup.gitCommit ?? 'unknown'}`,
    `- Vitest ${setup.vitestVersion ?? 'unknown'}, Node ${setup.nodeVersion}`,
    `- Stack: ${setup.stackVersions.join(', ') || 'version unknown'}`,
    `- Pipeline: ${setup.pipelineVersions.join(', ') || 'version unknown'}`,
    window === null
      ? '- Baseline window: none in this run'
      : `- Baseline window: ${isoTime(window.startedAtMs)} to ${isoTime(window.endedAtMs)}`,
    `- Experiments: ${setup.experimentCount}`,
    probeLogName === undefined
      ? '- Probe log: not written'
      : `- Probe log: [${probeLogName}](${probeLogName})`,
  ];
  return lines.join('\n');
}

function renderLift(run: ScoredRun): string {
  const rows = [
    [
      'pipeline',
      `${formatRatio(run.score.rcaAccuracy)}`,
      `${run.score.rcaCorrect}/${run.score.matrix.truePositives}`,
    ],
    ...run.score.rcaBaselines.map((b) => [
      b.description,
      formatRatio(b.accuracy),
      `${b.accuracy.numerator}/${b.accuracy.denominator}`,
    ]),
  ];
  const table = renderTable(rows, ['RCA method', 'accuracy', 'correct/detected']);
  return ['## RCA against trivial baselines', '', ...table, '', liftText(run)].join('\n');
}

/** States the pipeline's RCA accuracy minus the best trivial rule's, in percentage points. */
function liftText(run: ScoredRun): string {
  const pipeline = run.score.rcaAccuracy;
  const best = Math.max(
    ...run.score.rcaBaselines.map((b) => (b.accuracy.defined ? b.accuracy.value : 0)),
  );
  if (!pipeline.defined) return 'Lift over the best trivial rule: n/a (no detected experiments).';
  const points = Math.round((pipeline.value - best) * 100);
  return `Lift over the best trivial rule: ${points >= 0 ? '+' : ''}${points} percentage points.`;
}

function renderExperiments(entries: ResultsFile['experiments']): string {
  const paragraphs = entries.map(({ record, outcome }) => renderExperiment(record, outcome));
  return ['## Experiments', ...paragraphs].join('\n\n');
}

/** Renders one experiment: hypothesis, what was observed, and whether it matched. */
export function renderExperiment(record: ExperimentRecord, outcome: ExperimentOutcome): string {
  const heading = `### ${record.id}. ${record.name}`;
  const hypothesis = `**Hypothesis.** ${record.hypothesis.text.trim()} ${expectationText(record)}`;
  const observed = `**Observed.** ${observationText(record, outcome)}`;
  const verdict = `**Verdict.** ${verdictText(record, outcome)}`;
  return [heading, hypothesis, observed, verdict].join('\n\n');
}

function expectationText(record: ExperimentRecord): string {
  const { expect } = record.hypothesis;
  const parts = [expect.detected ? 'detected' : 'not detected'];
  if (expect.mttdMaxMs !== undefined)
    parts.push(`MTTD at most ${formatDuration(expect.mttdMaxMs)}`);
  parts.push(`RCA ${expect.rca ?? record.groundTruth.rootService}`);
  return `(Expected: ${parts.join(', ')}.)`;
}

function observationText(record: ExperimentRecord, outcome: ExperimentOutcome): string {
  const { fault, times, detection, probe } = record;
  const sentences = [
    `Fault ${fault.type} on ${fault.target}${fault.driver ? ` via ${fault.driver}` : ''}.`,
  ];
  if (times.injectedAtMs !== undefined && times.rolledBackAtMs !== undefined) {
    const heldFor = formatDuration(times.rolledBackAtMs - times.injectedAtMs);
    sentences.push(`Injected at ${isoTime(times.injectedAtMs)}, rolled back after ${heldFor}.`);
  }
  const alerts = detection.alerts;
  if (alerts.length === 0) {
    sentences.push('No alert fired in the detection window.');
  } else {
    const first = detection.firstAlert ?? alerts[0];
    const seen =
      detection.mttdSeenMs === undefined
        ? ''
        : `, seen after ${formatDuration(detection.mttdSeenMs)}`;
    const mttd =
      outcome.mttdMs === undefined ? '' : ` after ${formatDuration(outcome.mttdMs)}${seen}`;
    const firstText =
      first === undefined ? '' : `; the first, ${first.signal} on ${first.service}, fired${mttd}`;
    sentences.push(
      `${alerts.length} alert${alerts.length === 1 ? '' : 's'} in the window${firstText}.`,
    );
  }
  if (record.rca !== undefined) {
    const named = record.rca.rootService ?? 'no service';
    sentences.push(`RCA named ${named} (confidence ${record.rca.confidence.toFixed(2)}).`);
  }
  const rate = (value: number | null): string => (value === null ? 'n/a' : value.toFixed(2));
  sentences.push(
    `Probe pass rate before ${rate(probe.before)}, during ${rate(probe.during)}, after ${rate(probe.after)}.`,
  );
  const errors = record.pipelineErrors;
  if (errors.length > 0) {
    const count = `${errors.length} pipeline error${errors.length === 1 ? '' : 's'}`;
    sentences.push(`${count}, first: ${errors[0]?.message}.`);
  }
  return sentences.join(' ');
}

function verdictText(record: ExperimentRecord, outcome: ExperimentOutcome): string {
  if (!outcome.scored) {
    const abort = record.abort === undefined ? '' : ` Abort condition: ${record.abort.condition}.`;
    const tail = record.logTail?.length
      ? `\n\n\`\`\`text\n${record.logTail.join('\n')}\n\`\`\``
      : '';
    return `Not scored (${record.status}): ${record.reason ?? 'no reason recorded'}.${abort}${tail}`;
  }
  const reasons = mismatchReasons(record, outcome);
  return reasons.length === 0 ? 'Matched the hypothesis.' : `Did not match: ${reasons.join('; ')}.`;
}

function mismatchReasons(record: ExperimentRecord, outcome: ExperimentOutcome): string[] {
  const { expect } = record.hypothesis;
  const reasons: string[] = [];
  if (expect.detected && !outcome.detected) reasons.push('no alert fired in the detection window');
  if (!expect.detected && outcome.detected)
    reasons.push('the pipeline alerted although no alert was expected');
  if (outcome.mttdOverMaxMs !== undefined && outcome.mttdMs !== undefined) {
    reasons.push(
      `MTTD ${formatDuration(outcome.mttdMs)} exceeds ${formatDuration(outcome.mttdOverMaxMs)}`,
    );
  }
  if (outcome.detected && outcome.rcaCorrect === false) {
    const named = outcome.rcaService ?? 'no service';
    const mustNotPickNote = outcome.mustNotPickViolated ? ', which must not be picked' : '';
    reasons.push(
      `RCA named ${named}${mustNotPickNote}, expected ${record.groundTruth.rootService}`,
    );
  }
  return reasons;
}

function renderTopGaps(run: ScoredRun): string {
  const top = rankGaps(run.score.gaps).slice(0, 3);
  if (top.length === 0) return '## Top gaps\n\nNo experiment missed.';
  const items = top.map((gap, index) => {
    const evidence = gap.evidence.map((line) => `   - ${line}`).join('\n');
    return `${index + 1}. Experiment ${gap.id}, ${gap.stage}: ${gap.symptom} (${gap.cause}).\n${evidence}`;
  });
  return ['## Top gaps', '', ...items].join('\n');
}

function isoTime(timeMs: number): string {
  return new Date(timeMs).toISOString();
}
