import { setTimeout as sleep } from 'node:timers/promises';
import createDebug from 'debug';
import { formatDuration } from '../duration.ts';
import { checkSteadyState, type SteadyStateSignals } from './gate.ts';
import type { ProbeReader } from './probe-log.ts';

const log = createDebug('chaos:steady');

/** Options of `measureRecovery`. */
export interface MeasureRecoveryOptions extends SteadyStateSignals {
  /** When the fault was rolled back, unix ms; recovery time counts from here. */
  sinceMs: number;
  /** Give up this many ms after `sinceMs`: 30000 quick, 120000 full. */
  timeoutMs: number;
  /** Time between two looks, in ms. Default 1000. */
  pollIntervalMs?: number;
  onProgress?: (text: string) => void;
}

/** How long the system took to return to its steady state after a rollback. */
export interface RecoveryResult {
  recovered: boolean;
  /** Time from `sinceMs` until the probe and the metrics were back, in ms; absent if not recovered. */
  recoveryMs?: number;
  /** One line for the record and the scoreboard. */
  detail: string;
}

const WALK_STEP_MS = 100;

/**
 * Finds the start of the healthy stretch that ends at `nowMs`: the earliest time, not before
 * `sinceMs`, from which the probe pass rate up to now is still at least `minPassRate`.
 */
function healthySinceMs(
  probe: ProbeReader,
  sinceMs: number,
  fromMs: number,
  nowMs: number,
  minPassRate: number,
): number {
  let startMs = fromMs;
  while (startMs - WALK_STEP_MS >= sinceMs) {
    const rate = probe.passRate(startMs - WALK_STEP_MS, nowMs);
    if (rate !== null && rate < minPassRate) break;
    startMs -= WALK_STEP_MS;
  }
  // The stretch may reach back to the rollback itself: then the system did not need to recover.
  return startMs - WALK_STEP_MS < sinceMs ? sinceMs : startMs;
}

/**
 * Waits until the system is steady again after a rollback and measures how long it took. The
 * probe must pass over a whole window before recovery is confirmed, and the recovery time then
 * counts to the start of that healthy stretch, so it is not inflated by the window length. A
 * system that is not steady within `timeoutMs` of `sinceMs` is reported as not recovered.
 */
export async function measureRecovery(options: MeasureRecoveryOptions): Promise<RecoveryResult> {
  const minPassRate = options.minPassRate ?? 0.99;
  const deadlineMs = options.sinceMs + options.timeoutMs;
  let metricsSteadySinceMs: number | undefined;
  for (;;) {
    const nowMs = Date.now();
    const check = await checkSteadyState(options, nowMs);
    metricsSteadySinceMs = check.metricsSteady ? (metricsSteadySinceMs ?? nowMs) : undefined;
    if (check.steady) {
      const probeSinceMs = healthySinceMs(
        options.probe,
        options.sinceMs,
        nowMs - options.windowMs,
        nowMs,
        minPassRate,
      );
      // NOTE: metrics are judged over the sampler's window, so their in-band time lags the real
      // recovery by up to that window. The probe time has no such lag.
      const metricsSinceMs = options.sampler ? (metricsSteadySinceMs ?? nowMs) : probeSinceMs;
      const recoveredAtMs = Math.max(probeSinceMs, metricsSinceMs);
      const recoveryMs = Math.max(0, recoveredAtMs - options.sinceMs);
      log('recovered %dms after rollback', recoveryMs);
      return {
        recovered: true,
        recoveryMs,
        detail: `recovered ${formatDuration(recoveryMs)} after rollback`,
      };
    }
    const leftMs = deadlineMs - Date.now();
    if (leftMs <= 0) {
      const detail = `not recovered within ${formatDuration(options.timeoutMs)} of rollback: ${check.problems.join('; ')}`;
      log(detail);
      return { recovered: false, detail };
    }
    options.onProgress?.(
      `waiting for recovery: ${check.problems.join('; ')}, ${formatDuration(leftMs)} left`,
    );
    await sleep(Math.min(options.pollIntervalMs ?? 1_000, leftMs));
  }
}
