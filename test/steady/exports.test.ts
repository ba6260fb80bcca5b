import { describe, expect, it } from 'vitest';
import * as steady from '../../src/harness/steady/index.ts';

describe('steady-state entry point', () => {
  it('exports the contract functions', () => {
    expect(Object.keys(steady).sort()).toEqual([
      'ConditionSyntaxError',
      'SteadyStateError',
      'bandViolations',
      'captureBaseline',
      'checkSteadyState',
      'conditionVariables',
      'createConditionWatcher',
      'createMetricsSampler',
      'createProbeLogReader',
      'createProgressReporter',
      'isInBand',
      'loadBaseline',
      'measureRecovery',
      'parseCondition',
      'saveBaseline',
      'startProbe',
      'waitCooldown',
      'waitForSteadyState',
      'watchAbortConditions',
    ]);
  });
});
