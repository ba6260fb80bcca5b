import type { ExperimentRecord } from '../../harness/record.ts';
import { formatDuration } from '../format/duration.ts';
import type { ExperimentOutcome } from './experiment.ts';

/** The pipeline stage most likely responsible for a missed experiment. */
export type GapStage = 'detector' | 'pipeline error' | 'correlator' | 'RCA' | 'detector (slow)';

/** One missed experiment: what was seen, and the stage that likely failed. */
export interface Gap {
  id: string;
  stage: GapStage;
  /** Observed symptom, for example `no alert in 90s`. */
  symptom: string;
  /** Reason the stage is the likely cause, for example `no alert for availability on inventory-svc`. */
  cause: string;
  /** Facts behind the diagnosis, for the markdown report. */
  evidence: string[];
}

/** Gap stages from the most to the least severe; the report lists its top gaps in this order. */
export const GAP_STAGE_ORDER: readonly GapStage[] = [
  'detector',
  'pipeline error',
  'correlator',
  'RCA',
  'detector (slow)',
];

/**
 * Finds the gap of a completed experiment that missed: no alert in the window, an alert cluster
 * without the root's alerts, a wrong root, or a detection slower than the hypothesis allows.
 * Returns undefined for an experiment that did not miss or was not scored.
 */
export function findGap(record: ExperimentRecord, outcome: ExperimentOutcome): Gap | undefined {
  if (!outcome.scored) return undefined;
  if (!outcome.detected) return missedDetectionGap(record);
  if (outcome.rcaCorrect === false) return wrongRootGap(record, outcome);
  if (outcome.mttdOverMaxMs !== undefined && outcome.mttdMs !== undefined) {
    return {
      id: record.id,
      stage: 'detector (slow)',
      symptom: `first alert after ${formatDuration(outcome.mttdMs)}, hypothesis allows ${formatDuration(outcome.mttdOverMaxMs)}`,
      cause: `${record.fault.type} on ${record.fault.target} detected late`,
      evidence: alertEvidence(record),
    };
  }
  return undefined;
}

function missedDetectionGap(record: ExperimentRecord): Gap {
  const errors = record.pipelineErrors.filter((e) => e.stage === 'alerts' || e.stage === 'health');
  if (errors.length > 0) return pipelineErrorGap(record, errors);
  const { injectedAtMs, detectionWindowEndMs } = record.times;
  const window =
    injectedAtMs !== undefined && detectionWindowEndMs !== undefined
      ? `in ${formatDuration(detectionWindowEndMs - injectedAtMs)}`
      : 'in the detection window';
  return {
    id: record.id,
    stage: 'detector',
    symptom: `no alert ${window}`,
    cause: `no alert for ${record.fault.type} on ${record.fault.target}`,
    evidence: [
      `fault ${record.fault.type} on ${record.fault.target}` +
        (record.fault.mechanism ? ` via ${record.fault.mechanism}` : ''),
      `probe pass rate during the fault: ${formatRate(record.probe.during)}`,
    ],
  };
}

function wrongRootGap(record: ExperimentRecord, outcome: ExperimentOutcome): Gap {
  const errors = record.pipelineErrors.filter((e) => e.stage === 'correlate' || e.stage === 'rca');
  if (errors.length > 0) return pipelineErrorGap(record, errors);
  const correlatorGap = findCorrelatorGap(record);
  if (correlatorGap !== undefined) return correlatorGap;
  const named = outcome.rcaService ?? null;
  const expected = record.groundTruth.rootService;
  const evidence = [...rankedEvidence(record), ...alertEvidence(record)];
  if (named === null) {
    const symptom = `RCA named no service, expected ${expected}`;
    return { id: record.id, stage: 'RCA', symptom, cause: 'no root returned', evidence };
  }
  if (outcome.mustNotPickViolated) {
    const symptom = `RCA named ${named}, a must-not-pick service (expected ${expected})`;
    return {
      id: record.id,
      stage: 'RCA',
      symptom,
      cause: 'picked a must-not-pick service',
      evidence,
    };
  }
  const symptom = `RCA named ${named}, expected ${expected}`;
  return { id: record.id, stage: 'RCA', symptom, cause: 'wrong root', evidence };
}

/** Finds a correlator gap: the window had alerts but the chosen cluster contains none of the root's. */
function findCorrelatorGap(record: ExperimentRecord): Gap | undefined {
  const { alerts } = record.detection;
  const rootServices = new Set([record.groundTruth.rootService, ...record.groundTruth.alsoCorrect]);
  const cluster = record.correlation;
  const count = `${alerts.length} alert${alerts.length === 1 ? '' : 's'}`;
  if (cluster === undefined) {
    return {
      id: record.id,
      stage: 'correlator',
      symptom: `${count} in the window but no cluster`,
      cause: 'no cluster returned',
      evidence: alertEvidence(record),
    };
  }
  const clusterIds = new Set(cluster.alertIds);
  const rootAlertsInCluster = alerts.filter(
    (a) => rootServices.has(a.service) && clusterIds.has(a.id),
  );
  const rootInServices = cluster.services.some((s) => rootServices.has(s));
  if (rootAlertsInCluster.length > 0 || rootInServices) return undefined;
  return {
    id: record.id,
    stage: 'correlator',
    symptom: `${count}, cluster ${cluster.id} has none from ${record.groundTruth.rootService}`,
    cause: `cluster holds ${cluster.services.join(', ') || 'no services'}`,
    evidence: [
      `cluster ${cluster.id}: alerts ${cluster.alertIds.join(', ') || 'none'}`,
      ...alertEvidence(record),
    ],
  };
}

function pipelineErrorGap(
  record: ExperimentRecord,
  errors: ExperimentRecord['pipelineErrors'],
): Gap {
  const [first] = errors;
  const count = `${errors.length} pipeline error${errors.length === 1 ? '' : 's'}`;
  return {
    id: record.id,
    stage: 'pipeline error',
    symptom: `${count}, first: ${first?.message ?? 'unknown'}`,
    cause: `the ${first?.stage ?? 'unknown'} call failed`,
    evidence: errors.map(
      (e) => `${e.stage}: ${e.message}${e.excerpt ? ` (${e.excerpt.slice(0, 120)})` : ''}`,
    ),
  };
}

function alertEvidence(record: ExperimentRecord): string[] {
  const { alerts } = record.detection;
  if (alerts.length === 0) return ['no alerts in the detection window'];
  const shown = alerts
    .slice(0, 5)
    .map((a) => `alert ${a.id}: ${a.signal} on ${a.service} (${a.severity})`);
  if (alerts.length > shown.length) shown.push(`and ${alerts.length - shown.length} more alerts`);
  return shown;
}

function rankedEvidence(record: ExperimentRecord): string[] {
  const ranked = record.rca?.ranked;
  if (ranked === undefined || ranked.length === 0) return [];
  const top = ranked.slice(0, 3).map((r) => `${r.service} ${r.score.toFixed(2)}`);
  return [`RCA ranking: ${top.join(', ')}`];
}

function formatRate(rate: number | null): string {
  return rate === null ? 'not measured' : rate.toFixed(2);
}
