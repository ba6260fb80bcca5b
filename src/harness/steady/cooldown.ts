import { setTimeout as sleep } from 'node:timers/promises';
import createDebug from 'debug';
import { formatDuration } from '../duration.ts';
import { errorMessage } from './errors.ts';

const log = createDebug('chaos:steady');

/** Options of `waitCooldown`. */
export interface CooldownOptions {
  /** `fixed` always waits `maxMs`; `adaptive` ends as soon as the system is recovered and quiet. */
  mode: 'adaptive' | 'fixed';
  /** Fixed wait, and the bound of an adaptive one, in ms: 20000 quick, 120000 full. */
  maxMs: number;
  /** How long the pipeline must have raised nothing before an adaptive cooldown ends, in ms. */
  quietMs: number;
  /** Tells whether the system is back in its steady state. */
  isRecovered: () => Promise<boolean>;
  /** Tells whether the pipeline raised no alert since `sinceMs` (unix ms). */
  isPipelineQuiet: (sinceMs: number) => Promise<boolean>;
  /** Time between two looks of an adaptive cooldown, in ms. Default 1000. */
  pollIntervalMs?: number;
  onProgress?: (text: string) => void;
}

/** Outcome of a cooldown. */
export interface CooldownResult {
  mode: 'adaptive' | 'fixed';
  waitedMs: number;
  /** True when an adaptive cooldown hit `maxMs` before the system was recovered and quiet. */
  timedOut: boolean;
}

/** Calls a check and reads a failure as "not yet", logging it, so a flaky check only delays. */
async function safely(name: string, check: () => Promise<boolean>): Promise<boolean> {
  try {
    return await check();
  } catch (error) {
    log('cooldown check %s failed: %s', name, errorMessage(error));
    return false;
  }
}

async function waitFixed(options: CooldownOptions, startedAtMs: number): Promise<CooldownResult> {
  const endMs = startedAtMs + options.maxMs;
  for (let leftMs = options.maxMs; leftMs > 0; leftMs = endMs - Date.now()) {
    options.onProgress?.(`cooling down (fixed): ${formatDuration(leftMs)} left`);
    await sleep(Math.min(leftMs, 1_000));
  }
  return { mode: 'fixed', waitedMs: Date.now() - startedAtMs, timedOut: false };
}

/**
 * Waits between two experiments so that one does not disturb the next. The adaptive mode (the
 * default of the harness) ends once `isRecovered()` and `isPipelineQuiet(now - quietMs)` both
 * return true, and at the latest after `maxMs`. The fixed mode waits `maxMs`.
 */
export async function waitCooldown(options: CooldownOptions): Promise<CooldownResult> {
  const startedAtMs = Date.now();
  if (options.mode === 'fixed') return waitFixed(options, startedAtMs);
  const endMs = startedAtMs + options.maxMs;
  for (;;) {
    const recovered = await safely('isRecovered', options.isRecovered);
    const quiet =
      recovered &&
      (await safely('isPipelineQuiet', () =>
        options.isPipelineQuiet(Date.now() - options.quietMs),
      ));
    const waitedMs = Date.now() - startedAtMs;
    if (quiet) {
      log('adaptive cooldown ended after %dms', waitedMs);
      return { mode: 'adaptive', waitedMs, timedOut: false };
    }
    const leftMs = endMs - Date.now();
    if (leftMs <= 0) {
      log('adaptive cooldown hit its bound of %dms', options.maxMs);
      return { mode: 'adaptive', waitedMs, timedOut: true };
    }
    const what = recovered
      ? `the pipeline to be quiet for ${formatDuration(options.quietMs)}`
      : 'the system to recover';
    options.onProgress?.(
      `cooling down (adaptive): waiting for ${what}, at most ${formatDuration(leftMs)} left`,
    );
    await sleep(Math.min(options.pollIntervalMs ?? 1_000, leftMs));
  }
}
