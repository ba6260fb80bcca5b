import { Detector, type DetectorOptions } from '../../../fixtures/pipeline/detector.ts';
import { Monitor } from '../../../fixtures/pipeline/monitor.ts';
import type { World } from './world.ts';

/** Start of simulated time, unix milliseconds (a fixed day keeps results reproducible). */
export const EPOCH_MS = Date.UTC(2026, 0, 1);

/**
 * Drives a world second by second with a simulated clock: `onSecond` may change faults before
 * each second's traffic, then the monitor scrapes and detects. Returns the detector.
 */
export async function runWorld(
  world: World,
  options: {
    seconds: number;
    requestsPerSecond?: number;
    onSecond?: (second: number) => void;
    detector?: DetectorOptions;
  },
): Promise<{ detector: Detector; atMs: (second: number) => number }> {
  let nowMs = EPOCH_MS;
  const detector = new Detector({ idPrefix: 'test', ...options.detector });
  const monitor = new Monitor({ source: world.source(() => nowMs), detector, now: () => nowMs });
  for (let second = 0; second < options.seconds; second += 1) {
    options.onSecond?.(second);
    world.runSecond(options.requestsPerSecond ?? 8);
    nowMs = EPOCH_MS + (second + 1) * 1000;
    await monitor.tick();
  }
  return { detector, atMs: (second: number) => EPOCH_MS + second * 1000 };
}
