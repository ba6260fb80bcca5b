import { describe, expect, it } from 'vitest';
import * as reporter from '../../src/reporters/index.ts';

describe('reporter entry point', () => {
  it('exports exactly these values', () => {
    expect(Object.keys(reporter).sort()).toEqual([
      'DEFAULT_GATE_THRESHOLDS',
      'PROBE_LOG_FILE',
      'REPORT_FILE',
      'RESULTS_FILE',
      'RESULTS_SCHEMA_VERSION',
      'ScoreboardReporter',
      'buildScoredRun',
      'evaluateGate',
      'findGap',
      'formatRatio',
      'isRcaCorrect',
      'nearestRankPercentile',
      'pickFirstAlertService',
      'pickMostAlertsService',
      'rankGaps',
      'ratio',
      'readReporterSettings',
      'renderReport',
      'renderScoreboard',
      'resultsFileSchema',
      'scoreExperiment',
      'scoreRcaBaselines',
      'scoreRun',
    ]);
  });

  it('constructs the reporter without arguments', () => {
    expect(new reporter.ScoreboardReporter()).toBeInstanceOf(reporter.ScoreboardReporter);
  });
});
