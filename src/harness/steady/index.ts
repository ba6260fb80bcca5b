// Public API of the steady-state module: probe, metrics sampler, baseline, gate, abort
// conditions, recovery, cooldown and progress output.
export { watchAbortConditions, type AbortWatch, type AbortWatchOptions } from './abort.ts';
export { bandViolations, isInBand, type BandTolerance, type BandViolation } from './band.ts';
export {
  captureBaseline,
  loadBaseline,
  saveBaseline,
  type Baseline,
  type BaselineSeries,
  type BaselineSource,
  type CaptureBaselineOptions,
} from './baseline.ts';
export {
  ConditionSyntaxError,
  conditionVariables,
  createConditionWatcher,
  parseCondition,
  type Comparison,
  type ComparisonOp,
  type Condition,
  type ConditionTrip,
  type ConditionWatcher,
} from './conditions.ts';
export { waitCooldown, type CooldownOptions, type CooldownResult } from './cooldown.ts';
export { SteadyStateError, type SteadyStateErrorCode } from './errors.ts';
export {
  checkSteadyState,
  waitForSteadyState,
  type SteadyStateCheck,
  type SteadyStateResult,
  type SteadyStateSignals,
  type WaitForSteadyStateOptions,
} from './gate.ts';
export {
  createProbeLogReader,
  startProbe,
  type Probe,
  type ProbeCheck,
  type ProbeLogReader,
  type ProbeOptions,
  type ProbeReader,
} from './probe.ts';
export { createProgressReporter } from './progress.ts';
export { measureRecovery, type MeasureRecoveryOptions, type RecoveryResult } from './recovery.ts';
export {
  createMetricsSampler,
  type MetricsSampler,
  type MetricsSamplerOptions,
  type ServiceSample,
} from './sampler.ts';
