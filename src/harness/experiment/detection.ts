import type { ActiveFault } from '../faults/lifecycle.ts';
import { createLogger } from '../log.ts';
import type { Alert, PipelineError } from '../pipeline/types.ts';
import { createConditionWatcher, type ConditionTrip } from '../steady/conditions.ts';
import type { ResolvedContext } from './context.ts';
import type { ParsedCondition } from './schema.ts';

const log = createLogger('experiment');

/** Observations of one detection window. */
export interface DetectionOutcome {
  /** Alerts of the window by id, fire times on the pipeline clock. */
  alerts: Map<string, Alert>;
  /** Harness time when each alert was first seen. */
  firstSeenAtMs: Map<string, number>;
  pipelineErrors: PipelineError[];
  trip: ConditionTrip | undefined;
  /** Harness time when the window ended (early when a condition tripped or it was cancelled). */
  endedAtMs: number;
}

interface WindowInput {
  context: ResolvedContext;
  fault: ActiveFault;
  conditions: ParsedCondition[];
  /** Pipeline clock minus harness clock, in ms. */
  clockOffsetMs: number;
  signal: AbortSignal;
}

const sleep = (ms: number, signal: AbortSignal) =>
  new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, Math.max(0, ms));
    signal.addEventListener('abort', () => {
      clearTimeout(timer);
      resolve();
    });
  });

/** Reads the condition variables: the metrics sample plus `probe_pass_rate` in percent. */
async function readConditionValues(
  context: ResolvedContext,
  nowMs: number,
): Promise<Record<string, number>> {
  const values: Record<string, number> = {};
  if (context.sampler) {
    try {
      Object.assign(values, await context.sampler.sample());
    } catch (error) {
      log('metrics sample failed: %O', error);
    }
  }
  const spanMs = Math.max(5_000, 3 * context.profile.probeIntervalMs);
  const passRate = context.probe?.passRate(nowMs - spanMs, nowMs);
  if (passRate !== null && passRate !== undefined) values.probe_pass_rate = passRate * 100;
  return values;
}

/**
 * Runs the detection window: polls `/alerts` every `pollIntervalMs` until the window ends,
 * evaluates abort conditions and `trigger_when`, and rolls the fault back when its duration is
 * over or a condition trips (then the window ends at once).
 */
export async function runDetectionWindow(input: WindowInput): Promise<DetectionOutcome> {
  const { context, fault, clockOffsetMs, signal } = input;
  const windowEndMs = fault.injectedAtMs + context.detectionWindowMs;
  const faultEndMs = fault.injectedAtMs + context.faultDurationMs;
  // Fire times of a pipeline with whole seconds may sit up to a second before the injection.
  const sinceMs = fault.injectedAtMs + clockOffsetMs - 1_000;
  const watcher = createConditionWatcher(input.conditions);
  const outcome: DetectionOutcome = {
    alerts: new Map(),
    firstSeenAtMs: new Map(),
    pipelineErrors: [],
    trip: undefined,
    endedAtMs: 0,
  };
  while (!signal.aborted && Date.now() < windowEndMs) {
    const tickStartMs = Date.now();
    const result = await context.pipeline.alerts(sinceMs);
    if (result.ok) {
      for (const alert of result.value) {
        if (alert.firedAtMs < sinceMs || outcome.alerts.has(alert.id)) continue;
        outcome.alerts.set(alert.id, alert);
        outcome.firstSeenAtMs.set(alert.id, Date.now());
        log('alert %s on %s (%s) seen', alert.id, alert.service, alert.signal);
      }
    } else outcome.pipelineErrors.push(result.error);
    if (input.conditions.length > 0) {
      outcome.trip = watcher.update(await readConditionValues(context, Date.now()), Date.now());
      if (outcome.trip) break;
    }
    if (Date.now() >= faultEndMs && fault.rolledBackAtMs === undefined) await fault.rollback();
    const left = Math.round((windowEndMs - Date.now()) / 1_000);
    context.progress(`detection window: ${outcome.alerts.size} alert(s), ${left}s left`);
    await sleep(
      Math.min(context.pollIntervalMs - (Date.now() - tickStartMs), windowEndMs - Date.now()),
      signal,
    );
  }
  outcome.endedAtMs = Date.now();
  return outcome;
}
