export {
  ScoreboardReporter,
  RESULTS_FILE,
  REPORT_FILE,
  PROBE_LOG_FILE,
} from './scoreboard-reporter.ts';
export type { ScoreboardReporterOptions } from './scoreboard-reporter.ts';
export { readReporterSettings } from './config.ts';
export type { ReporterSettings } from './config.ts';
export { scoreRun, rankGaps } from './scoring/run.ts';
export type { RunScore, ConfusionMatrix } from './scoring/run.ts';
export { scoreExperiment, isRcaCorrect } from './scoring/experiment.ts';
export type { ExperimentOutcome } from './scoring/experiment.ts';
export { findGap } from './scoring/gaps.ts';
export type { Gap, GapStage } from './scoring/gaps.ts';
export { evaluateGate, DEFAULT_GATE_THRESHOLDS } from './scoring/gate.ts';
export type { GateThresholds, GateResult, BoundCheck } from './scoring/gate.ts';
export { nearestRankPercentile, ratio, formatRatio } from './scoring/ratio.ts';
export type { Ratio } from './scoring/ratio.ts';
export {
  scoreRcaBaselines,
  pickFirstAlertService,
  pickMostAlertsService,
} from './scoring/baselines.ts';
export type { RcaBaseline } from './scoring/baselines.ts';
export { renderScoreboard } from './format/scoreboard.ts';
export type { GateVerdict } from './format/scoreboard.ts';
export { renderReport } from './format/report.ts';
export { buildScoredRun } from './results/build.ts';
export type { ScoredRun, RunEnvironment } from './results/build.ts';
export { resultsFileSchema, RESULTS_SCHEMA_VERSION } from './results/schema.ts';
export type { ResultsFile } from './results/schema.ts';
