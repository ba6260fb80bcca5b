import type { ExperimentRecord } from '../../harness/record.ts';

type GroundTruth = ExperimentRecord['groundTruth'];

/** Scoring result of one experiment record. */
export interface ExperimentOutcome {
  id: string;
  name: string;
  status: ExperimentRecord['status'];
  /** Only completed experiments count towards recall, precision and RCA accuracy. */
  scored: boolean;
  /** At least one alert fired inside the detection window. */
  detected: boolean;
  /** First alert fire time minus injection time, corrected for clock offset, in ms. */
  mttdMs?: number;
  /** The root service the pipeline named; null when it named none, undefined when RCA never ran. */
  rcaService?: string | null;
  /** Set for detected experiments only, since RCA accuracy is RCA correct over detected. */
  rcaCorrect?: boolean;
  /** The pipeline named a service listed in `must_not_pick`. */
  mustNotPickViolated: boolean;
  /** The hypothesis allowed at most this MTTD, in ms, and detection took longer. */
  mttdOverMaxMs?: number;
}

/**
 * Decides whether an RCA result is correct: it names the ground-truth root or one of
 * `alsoCorrect`, and it is not in `mustNotPick` (which wins when a service is in both lists).
 */
export function isRcaCorrect(service: string | null | undefined, truth: GroundTruth): boolean {
  if (service === null || service === undefined) return false;
  if (truth.mustNotPick.includes(service)) return false;
  return service === truth.rootService || truth.alsoCorrect.includes(service);
}

/** Returns the MTTD of a record in ms: the recorded value, else first alert minus injection. */
export function mttdOf(record: ExperimentRecord): number | undefined {
  const { detection, times } = record;
  if (detection.mttdMs !== undefined) return detection.mttdMs;
  if (detection.firstAlert !== undefined && times.injectedAtMs !== undefined) {
    return detection.firstAlert.firedAtMs - times.injectedAtMs;
  }
  return detection.mttdSeenMs;
}

/** True when the record shows an alert inside its detection window. */
export function isDetected(record: ExperimentRecord): boolean {
  return record.detection.detected || record.detection.alerts.length > 0;
}

/** Scores one experiment record against its ground truth and hypothesis. */
export function scoreExperiment(record: ExperimentRecord): ExperimentOutcome {
  const scored = record.status === 'completed';
  const detected = scored && isDetected(record);
  const rcaService = record.rca?.rootService;
  const outcome: ExperimentOutcome = {
    id: record.id,
    name: record.name,
    status: record.status,
    scored,
    detected,
    mustNotPickViolated:
      typeof rcaService === 'string' && record.groundTruth.mustNotPick.includes(rcaService),
  };
  if (rcaService !== undefined) outcome.rcaService = rcaService;
  if (!detected) return outcome;

  outcome.rcaCorrect = isRcaCorrect(rcaService, record.groundTruth);
  const mttdMs = mttdOf(record);
  if (mttdMs !== undefined) outcome.mttdMs = mttdMs;
  const maxMs = record.hypothesis.expect.mttdMaxMs;
  if (mttdMs !== undefined && maxMs !== undefined && mttdMs > maxMs) outcome.mttdOverMaxMs = maxMs;
  return outcome;
}

/** Orders experiment ids numerically when they are numbers, else in natural string order. */
export function compareIds(a: string, b: string): number {
  return a.localeCompare(b, 'en', { numeric: true });
}
