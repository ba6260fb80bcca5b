import { readFileSync } from 'node:fs';
import { RECORD_SCHEMA_VERSION, type ExperimentRecord } from '../record.ts';
import type { Experiment } from './schema.ts';

function readFrameworkVersion(): string {
  try {
    const text = readFileSync(new URL('../../../package.json', import.meta.url), 'utf8');
    const parsed: unknown = JSON.parse(text);
    if (
      parsed !== null &&
      typeof parsed === 'object' &&
      'version' in parsed &&
      typeof parsed.version === 'string'
    ) {
      return parsed.version;
    }
  } catch {
    // Outside the package layout the version is unknown; the record says so.
  }
  return 'unknown';
}

/** Version of vitest-chaos, from its package.json. */
export const FRAMEWORK_VERSION = readFrameworkVersion();

/** Creates the record of an experiment before it runs: status `error` until a phase sets it. */
export function createExperimentRecord(
  experiment: Experiment,
  stackVersion?: string,
): ExperimentRecord {
  const { fault } = experiment;
  const { type, target, driver, ...params } = fault;
  return {
    kind: 'experiment',
    schemaVersion: RECORD_SCHEMA_VERSION,
    id: experiment.id,
    name: experiment.name,
    source: { file: experiment.source?.file, sha256: experiment.source?.sha256 },
    hypothesis: {
      text: experiment.hypothesis.text,
      expect: {
        detected: experiment.hypothesis.expect.detected,
        mttdMaxMs: experiment.hypothesis.expect.mttdMaxMs,
        rca: experiment.hypothesis.expect.rca,
      },
    },
    fault: { type, target, driver, params },
    groundTruth: { ...experiment.groundTruth },
    status: 'error',
    reason: 'the experiment did not start',
    times: {},
    detection: { detected: false, alerts: [] },
    pipelineErrors: [],
    probe: { before: null, during: null, after: null },
    versions: { framework: FRAMEWORK_VERSION, stack: stackVersion },
  };
}

/** Tells whether the pipeline's RCA answer is correct for the ground truth of a record. */
export function isRcaCorrect(record: ExperimentRecord): boolean {
  const named = record.rca?.rootService;
  if (!named) return false;
  const { rootService, alsoCorrect, mustNotPick } = record.groundTruth;
  return (named === rootService || alsoCorrect.includes(named)) && !mustNotPick.includes(named);
}

/** Tells whether the observed outcome matches the hypothesis (detection, MTTD bound, RCA). */
export function matchesHypothesis(record: ExperimentRecord): boolean {
  const { expect: expected } = record.hypothesis;
  if (record.detection.detected !== expected.detected) return false;
  const mttd = record.detection.mttdMs;
  if (
    expected.detected &&
    expected.mttdMaxMs !== undefined &&
    (mttd === undefined || mttd > expected.mttdMaxMs)
  )
    return false;
  if (expected.rca !== undefined && record.rca?.rootService !== expected.rca) return false;
  return true;
}
