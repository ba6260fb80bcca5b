import { format } from 'node:util';
import createDebug from 'debug';

/** Number of recent log lines kept in memory for `logTail`. */
const RING_SIZE = 300;
const ring: string[] = [];
let writtenCount = 0;

/** A logger for one area; every line also goes into the ring buffer of recent lines. */
export type Logger = (formatter: string, ...args: unknown[]) => void;

/**
 * Creates a logger for the `chaos:<area>` debug namespace, for example `chaos:fault`. Lines are
 * printed only when `DEBUG` enables the namespace, but they are always kept in the ring buffer
 * so a failed experiment can carry the recent lines.
 */
export function createLogger(area: string): Logger {
  const debug = createDebug(`chaos:${area}`);
  return (formatter, ...args) => {
    const line = `${new Date().toISOString()} chaos:${area} ${format(formatter, ...args)}`;
    ring.push(line);
    writtenCount += 1;
    if (ring.length > RING_SIZE) ring.splice(0, ring.length - RING_SIZE);
    debug(formatter, ...args);
  };
}

/** Returns the most recent log lines of this process, oldest first (default the last 50). */
export function recentLogLines(limit = 50): string[] {
  return ring.slice(-limit);
}

/** Returns a counter of the lines written so far, to collect one experiment's lines later. */
export function logMark(): number {
  return writtenCount;
}

/** Returns the lines written since `mark` (a value of `logMark()`) that are still kept, at most `limit`. */
export function logLinesSince(mark: number, limit = 50): string[] {
  const newCount = Math.min(writtenCount - mark, ring.length);
  return ring.slice(ring.length - newCount).slice(-limit);
}
