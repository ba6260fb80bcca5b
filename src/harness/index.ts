// The public entry point of vitest-chaos. Suites import only from here; the export list is
// pinned by test/harness/index.test.ts.

export {
  ChaosError,
  ConfigError,
  DriverError,
  JournalError,
  ManifestationError,
  PipelineError,
  RequirementError,
  SchemaError,
  isChaosError,
} from './errors.ts';
export type { ChaosErrorCode, SchemaIssue } from './errors.ts';

export { describeExperiment } from './experiment/describe.ts';
export { describeBaselineWindow } from './experiment/baseline-window.ts';
export type { BaselineWindowOptions } from './experiment/baseline-window.ts';
export { defineExperiment, loadCatalog, validateCatalog } from './experiment/catalog.ts';
export type { Catalog } from './experiment/catalog.ts';
export { experimentSchema } from './experiment/schema.ts';
export type { Experiment, ExperimentInput, ParsedCondition } from './experiment/schema.ts';
export type { ExperimentOptions } from './experiment/context.ts';
export { isRcaCorrect, matchesHypothesis } from './experiment/record-builder.ts';
export type { ChaosMatchers } from './experiment/matchers.ts';
export { chaosTest } from './experiment/fixtures.ts';
export type { ChaosFixtures } from './experiment/fixtures.ts';

export { faultSchema, FAULT_TYPES, CATALOG_FAULT_TYPES, parseEdge } from './faults/spec.ts';
export type { Fault, FaultInput, FaultType } from './faults/spec.ts';
export type {
  DriverContext,
  FaultDriver,
  FaultPlan,
  Manifestation,
  MissingRequirement,
} from './faults/driver.ts';
export { getDriver, listDrivers, registerDriver, resolveDriver } from './faults/registry.ts';
export { ActiveFault, injectFault } from './faults/lifecycle.ts';
export type { InjectContext } from './faults/lifecycle.ts';
export { activeFaults, rollbackAllActive } from './faults/active.ts';

export { createJournal, DEFAULT_JOURNAL_DIR, Journal } from './journal/journal.ts';
export type { JournalEntry } from './journal/journal.ts';
export { recoverJournal } from './journal/recovery.ts';
export type { RecoveryOptions, RecoveryResult, RecoveryScope } from './journal/recovery.ts';
export { installSignalCleanup } from './signals.ts';

export { loadConfig, PROFILES, scaleFaultDurationMs } from './config.ts';
export type { ChaosConfig, GateSettings, ProfileSettings } from './config.ts';
export { CAMPAIGN_KEY } from './campaign.ts';
export type { CampaignContext } from './campaign.ts';

export { createPipelineClient } from './pipeline/client.ts';
export type {
  ClockOffset,
  PipelineClient,
  PipelineClientOptions,
  PipelineResult,
} from './pipeline/client.ts';
export type { FieldMap } from './pipeline/normalize.ts';
export type {
  Alert,
  Cluster,
  PipelineError as PipelineErrorRecord,
  RcaAnswer,
} from './pipeline/types.ts';

export { META_KEY } from './record.ts';
export type { BaselineWindowRecord, ChaosRecord, ExperimentRecord } from './record.ts';
export type { StackInfo, ServiceInfo, EdgeInfo } from './stack-info.ts';
export { formatDuration, parseDurationMs } from './duration.ts';
export { createLogger, recentLogLines } from './log.ts';
