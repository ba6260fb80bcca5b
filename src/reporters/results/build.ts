import type { BaselineWindowRecord, ExperimentRecord } from '../../harness/record.ts';
import type { GateVerdict } from '../format/scoreboard.ts';
import { evaluateGate, type GateThresholds } from '../scoring/gate.ts';
import { scoreRun, type RunScore } from '../scoring/run.ts';
import { RESULTS_SCHEMA_VERSION, type ResultsFile, type RunSetup } from './schema.ts';

/** Facts about the environment that the records do not carry. */
export interface RunEnvironment {
  frameworkVersion: string;
  gitCommit: string | null;
  vitestVersion: string | null;
  nodeVersion: string;
}

/** The scored run in the forms the scoreboard, the report and the results file need. */
export interface ScoredRun {
  score: RunScore;
  gate: GateVerdict;
  file: ResultsFile;
}

/**
 * Scores the records and builds the results file. `thresholds` undefined means the gate is off.
 * Pure apart from `nowMs`, which the caller passes in.
 */
export function buildScoredRun(options: {
  experiments: readonly ExperimentRecord[];
  windows: readonly BaselineWindowRecord[];
  environment: RunEnvironment;
  thresholds: GateThresholds | undefined;
  /** How the run ended; undefined while it is still running. */
  endReason?: 'passed' | 'failed' | 'interrupted' | undefined;
  nowMs: number;
}): ScoredRun {
  const { experiments, windows, thresholds } = options;
  const score = scoreRun(experiments, windows);
  const result = thresholds === undefined ? undefined : evaluateGate(score, thresholds);
  const gate: GateVerdict = result === undefined ? { mode: 'off' } : { mode: 'on', result };
  const byId = new Map(experiments.map((r) => [r.id, r]));
  const gapsById = new Map(score.gaps.map((g) => [g.id, g]));
  const { outcomes, notScored, gaps: _gaps, rcaBaselines, ...summary } = score;
  const file: ResultsFile = {
    kind: 'vitest-chaos-results',
    schemaVersion: RESULTS_SCHEMA_VERSION,
    complete: options.endReason !== undefined,
    ...(options.endReason === undefined ? {} : { endReason: options.endReason }),
    updatedAtMs: options.nowMs,
    setup: describeSetup(experiments, windows, options.environment),
    summary,
    gate:
      thresholds === undefined || result === undefined
        ? { mode: 'off' }
        : { mode: 'on', thresholds, ...result },
    rcaBaselines,
    experiments: outcomes.flatMap((outcome) => {
      const record = byId.get(outcome.id);
      if (record === undefined) return [];
      const gap = gapsById.get(outcome.id);
      return [gap === undefined ? { record, outcome } : { record, outcome, gap }];
    }),
    baselineWindows: [...windows].sort((a, b) => a.startedAtMs - b.startedAtMs),
    notScored,
  };
  return { score, gate, file };
}

function describeSetup(
  experiments: readonly ExperimentRecord[],
  windows: readonly BaselineWindowRecord[],
  environment: RunEnvironment,
): RunSetup {
  const distinct = (values: (string | undefined)[]): string[] =>
    [...new Set(values.filter((v): v is string => v !== undefined))].sort();
  const frameworkVersions = distinct(experiments.map((r) => r.versions.framework));
  return {
    frameworkVersion: frameworkVersions.join(', ') || environment.frameworkVersion,
    gitCommit: environment.gitCommit,
    vitestVersion: environment.vitestVersion,
    nodeVersion: environment.nodeVersion,
    stackVersions: distinct(experiments.map((r) => r.versions.stack)),
    pipelineVersions: distinct(experiments.map((r) => r.versions.pipeline)),
    baselineWindow:
      windows.length === 0
        ? null
        : {
            startedAtMs: Math.min(...windows.map((w) => w.startedAtMs)),
            endedAtMs: Math.max(...windows.map((w) => w.endedAtMs)),
          },
    experimentCount: experiments.length,
  };
}
