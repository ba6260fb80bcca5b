import type { ExperimentRecord } from '../record.ts';
import type { Alert, Cluster, PipelineError } from '../pipeline/types.ts';
import type { ResolvedContext } from './context.ts';
import type { DetectionOutcome } from './detection.ts';

/** Moves an alert's fire time from the pipeline clock to the harness clock. */
function corrected(alert: Alert, clockOffsetMs: number): Alert {
  return { ...alert, firedAtMs: alert.firedAtMs - clockOffsetMs };
}

/** Fills `record.detection` from the window: the alerts, the first one and the MTTD. */
export function recordDetection(
  record: ExperimentRecord,
  outcome: DetectionOutcome,
  clockOffsetMs: number,
): void {
  const injectedAtMs = record.times.injectedAtMs ?? 0;
  const alerts = [...outcome.alerts.values()]
    .map((alert) => corrected(alert, clockOffsetMs))
    .sort((left, right) => left.firedAtMs - right.firedAtMs);
  const first = alerts[0];
  const firstSeenAtMs = Math.min(...outcome.firstSeenAtMs.values());
  record.detection = {
    detected: first !== undefined,
    alerts,
    firstAlert: first,
    firstSeenAtMs: first ? firstSeenAtMs : undefined,
    // A fire time rounded to whole seconds may precede the injection by under a second.
    mttdMs: first ? Math.max(0, first.firedAtMs - injectedAtMs) : undefined,
    mttdSeenMs: first ? firstSeenAtMs - injectedAtMs : undefined,
  };
}

/** Picks the cluster that contains most of the window's alerts; ties go to the earliest alert. */
export function pickCluster(clusters: Cluster[], alertIds: string[]): Cluster | undefined {
  let best: { cluster: Cluster; overlap: number; firstIndex: number } | undefined;
  for (const cluster of clusters) {
    const indexes = alertIds
      .map((id, index) => (cluster.alertIds.includes(id) ? index : -1))
      .filter((index) => index >= 0);
    if (indexes.length === 0) continue;
    const candidate = { cluster, overlap: indexes.length, firstIndex: Math.min(...indexes) };
    if (
      !best ||
      candidate.overlap > best.overlap ||
      (candidate.overlap === best.overlap && candidate.firstIndex < best.firstIndex)
    ) {
      best = candidate;
    }
  }
  return best?.cluster;
}

/** Asks the pipeline to correlate the window, picks the experiment's cluster and asks for its RCA. */
export async function analyseWindow(
  record: ExperimentRecord,
  context: ResolvedContext,
  window: { startMs: number; endMs: number },
  clockOffsetMs: number,
): Promise<PipelineError[]> {
  if (!record.detection.detected) return [];
  const errors: PipelineError[] = [];
  const clusters = await context.pipeline.correlate({
    startMs: window.startMs + clockOffsetMs - 1_000,
    endMs: window.endMs + clockOffsetMs,
  });
  if (!clusters.ok) return [clusters.error];
  const cluster = pickCluster(
    clusters.value,
    record.detection.alerts.map((alert) => alert.id),
  );
  if (!cluster) return errors;
  record.correlation = { id: cluster.id, alertIds: cluster.alertIds, services: cluster.services };
  const answer = await context.pipeline.rca(cluster);
  if (!answer.ok) return [answer.error];
  record.rca = answer.value;
  return errors;
}
