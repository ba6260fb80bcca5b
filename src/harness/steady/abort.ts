import { setTimeout as sleep } from 'node:timers/promises';
import createDebug from 'debug';
import {
  conditionVariables,
  createConditionWatcher,
  parseCondition,
  type Condition,
  type ConditionTrip,
} from './conditions.ts';
import { errorMessage } from './errors.ts';
import type { ProbeReader } from './probe-log.ts';
import { servicePrefixes, type MetricsSampler } from './sampler.ts';

const log = createDebug('chaos:steady');

/** Options of `watchAbortConditions`. */
export interface AbortWatchOptions {
  /** Condition texts, or conditions parsed already (for example by the experiment schema). */
  conditions: (string | { text: string; condition: Condition })[];
  /** Source of `probe_pass_rate`. */
  probe?: ProbeReader;
  /** `probe_pass_rate` is the pass rate over this many ms before each evaluation. Default 10000. */
  probeWindowMs?: number;
  /** Source of the service variables (`<service>_p99` and the others). */
  sampler?: MetricsSampler;
  /** Time between two evaluations in ms. Default 1000. */
  intervalMs?: number;
  /** Called once when a condition trips, for example to roll the fault back early. */
  onTrip?: (trip: ConditionTrip) => void | Promise<void>;
}

/** A running watch of abort conditions. */
export interface AbortWatch extends AsyncDisposable {
  /** Resolves with the trip once a condition is true and `onTrip` returned, or with `undefined` after `stop()`. */
  readonly tripped: Promise<ConditionTrip | undefined>;
  /** The trip so far, if any. */
  trip(): ConditionTrip | undefined;
  /** Stops evaluating and waits for the evaluation in flight; rejects when `onTrip` failed. */
  stop(): Promise<void>;
}

/** Throws when a condition reads a variable that no given source can provide, which would never trip. */
function checkVariables(
  conditions: { text: string; condition: Condition }[],
  options: AbortWatchOptions,
): void {
  const prefixes = new Set(options.sampler?.services.flatMap(servicePrefixes) ?? []);
  for (const { text, condition } of conditions) {
    for (const variable of conditionVariables(condition)) {
      if (variable === 'probe_pass_rate') {
        if (!options.probe)
          throw new Error(
            `Abort condition "${text}" reads probe_pass_rate, but no probe was given.`,
          );
        continue;
      }
      const prefix = variable.includes(':')
        ? variable.split(':')[0]
        : variable.replace(/_(p99|error_rate|up)$/, '');
      if (prefix !== undefined && prefixes.has(prefix)) continue;
      const known = [...prefixes].join(', ') || 'none, because no metrics sampler was given';
      throw new Error(
        `Abort condition "${text}" reads ${variable}, but no service is named ${prefix}. Known: ${known}.`,
      );
    }
  }
}

/**
 * Starts evaluating abort conditions during a fault: every `intervalMs` it samples the probe and
 * the metrics, feeds a condition watcher and, on the first trip, calls `onTrip` and stops.
 * Throws at once when a condition reads a variable that no source provides.
 */
export function watchAbortConditions(options: AbortWatchOptions): AbortWatch {
  const conditions = options.conditions.map((entry) =>
    typeof entry === 'string' ? { text: entry, condition: parseCondition(entry) } : entry,
  );
  checkVariables(conditions, options);
  const watcher = createConditionWatcher(conditions);
  const intervalMs = options.intervalMs ?? 1_000;
  const probeWindowMs = options.probeWindowMs ?? 10_000;
  const stopController = new AbortController();
  let trip: ConditionTrip | undefined;

  const evaluate = async (): Promise<ConditionTrip | undefined> => {
    const nowMs = Date.now();
    let values: Record<string, number> = {};
    if (options.sampler) {
      try {
        values = await options.sampler.sample();
      } catch (error) {
        log('abort watch: metrics sample failed: %s', errorMessage(error));
      }
    }
    const passRate = options.probe?.passRate(nowMs - probeWindowMs, nowMs);
    if (passRate !== undefined && passRate !== null) values.probe_pass_rate = passRate * 100;
    return watcher.update(values, nowMs);
  };

  let onTripError: unknown;
  const loop = async (): Promise<ConditionTrip | undefined> => {
    while (!stopController.signal.aborted) {
      try {
        trip = await evaluate();
      } catch (error) {
        log('abort watch: evaluation failed, trying again: %O', error);
      }
      if (trip) {
        log('abort condition tripped: %s', trip.condition);
        try {
          await options.onTrip?.(trip);
        } catch (error) {
          // Kept for stop(), so a failed early rollback reaches the caller.
          onTripError = error;
          log('abort watch: onTrip failed: %O', error);
        }
        return trip;
      }
      await sleep(intervalMs, undefined, { signal: stopController.signal }).catch(() => undefined);
    }
    return undefined;
  };

  const tripped = loop();
  const stop = async (): Promise<void> => {
    stopController.abort();
    await tripped;
    if (onTripError !== undefined) {
      throw new Error(`The action on an abort condition failed: ${errorMessage(onTripError)}`, {
        cause: onTripError,
      });
    }
  };
  return { tripped, trip: () => trip, stop, [Symbol.asyncDispose]: stop };
}
