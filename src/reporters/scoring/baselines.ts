import type { ExperimentRecord } from '../../harness/record.ts';
import { isDetected, isRcaCorrect } from './experiment.ts';
import { ratio, type Ratio } from './ratio.ts';

/** A trivial root-cause rule applied to the same alerts the pipeline saw. */
export interface RcaBaseline {
  name: 'first-alert' | 'most-alerts';
  description: string;
  /** RCA correct over detected experiments. */
  accuracy: Ratio;
  /** The service the rule picked, by experiment id, for detected experiments. */
  picks: Record<string, string | null>;
}

/** Picks the service of the earliest alert in the detection window. */
export function pickFirstAlertService(record: ExperimentRecord): string | null {
  let first: ExperimentRecord['detection']['alerts'][number] | undefined;
  for (const alert of record.detection.alerts) {
    if (first === undefined || alert.firedAtMs < first.firedAtMs) first = alert;
  }
  return first?.service ?? record.detection.firstAlert?.service ?? null;
}

/**
 * Picks the service with the most alerts in the detection window; a tie goes to the service
 * whose first alert fired earliest.
 */
export function pickMostAlertsService(record: ExperimentRecord): string | null {
  const stats = new Map<string, { count: number; firstMs: number }>();
  for (const alert of record.detection.alerts) {
    const entry = stats.get(alert.service) ?? { count: 0, firstMs: alert.firedAtMs };
    entry.count += 1;
    entry.firstMs = Math.min(entry.firstMs, alert.firedAtMs);
    stats.set(alert.service, entry);
  }
  let best: { service: string; count: number; firstMs: number } | undefined;
  for (const [service, entry] of stats) {
    const better =
      best === undefined ||
      entry.count > best.count ||
      (entry.count === best.count && entry.firstMs < best.firstMs);
    if (better) best = { service, ...entry };
  }
  return best?.service ?? null;
}

/** Scores the two trivial RCA rules over the detected, completed experiments. */
export function scoreRcaBaselines(records: readonly ExperimentRecord[]): RcaBaseline[] {
  const detected = records.filter((r) => r.status === 'completed' && isDetected(r));
  const rules = [
    {
      name: 'first-alert',
      description: 'RCA = service of the first alert',
      pick: pickFirstAlertService,
    },
    {
      name: 'most-alerts',
      description: 'RCA = service with the most alerts',
      pick: pickMostAlertsService,
    },
  ] as const;
  return rules.map((rule) => {
    const picks: Record<string, string | null> = {};
    let correct = 0;
    for (const record of detected) {
      const service = rule.pick(record);
      picks[record.id] = service;
      if (isRcaCorrect(service, record.groundTruth)) correct += 1;
    }
    const accuracy = ratio(correct, detected.length, 'no detected experiments');
    return { name: rule.name, description: rule.description, accuracy, picks };
  });
}
