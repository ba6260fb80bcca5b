import { closeSync, fstatSync, openSync, readSync } from 'node:fs';
import createDebug from 'debug';

const log = createDebug('chaos:steady');

/** One check of the synthetic probe. */
export interface ProbeCheck {
  /** Start of the check, unix ms. */
  atMs: number;
  /** True when the endpoint returned HTTP 200 within the latency bound. */
  pass: boolean;
  /** HTTP status (`200`, `503`), `timeout`, or a socket error code such as `ECONNREFUSED`. */
  code: string;
  /** Time until the whole response was read, or until the check gave up, in ms. */
  latencyMs: number;
}

/** Read access to the pass rate of a probe, in this process or from its log file. */
export interface ProbeReader {
  /**
   * Returns the share of passing checks (0..1) among the checks that started between `fromMs`
   * and `toMs` (unix ms, inclusive, default now), or `null` when no check started in that window.
   */
  passRate(fromMs: number, toMs?: number): number | null;
}

/**
 * Formats one `probe.log` line: `<unix seconds> pass <latency ms>` or
 * `<unix seconds> fail <code> <latency ms>`. Seconds carry three decimals, latency is whole ms.
 */
export function formatProbeLine(check: ProbeCheck): string {
  const seconds = (check.atMs / 1_000).toFixed(3);
  const latencyMs = Math.round(check.latencyMs);
  if (check.pass) return `${seconds} pass ${latencyMs}\n`;
  return `${seconds} fail ${check.code.replace(/\s+/g, '_')} ${latencyMs}\n`;
}

/** Parses one `probe.log` line, or returns `undefined` for a line in another format. */
export function parseProbeLine(line: string): ProbeCheck | undefined {
  const fields = line.trim().split(/\s+/);
  const seconds = Number(fields[0]);
  if (!Number.isFinite(seconds)) return undefined;
  if (fields[1] === 'pass' && fields.length === 3) {
    const latencyMs = Number(fields[2]);
    if (!Number.isFinite(latencyMs)) return undefined;
    return { atMs: seconds * 1_000, pass: true, code: '200', latencyMs };
  }
  if (fields[1] === 'fail' && fields.length === 4 && fields[2]) {
    const latencyMs = Number(fields[3]);
    if (!Number.isFinite(latencyMs)) return undefined;
    return { atMs: seconds * 1_000, pass: false, code: fields[2], latencyMs };
  }
  return undefined;
}

/** Computes the pass rate of the checks that started inside a window (see `ProbeReader`). */
export function passRateOf(
  checks: readonly ProbeCheck[],
  fromMs: number,
  toMs: number,
): number | null {
  let total = 0;
  let passed = 0;
  for (const check of checks) {
    if (check.atMs < fromMs || check.atMs > toMs) continue;
    total += 1;
    if (check.pass) passed += 1;
  }
  return total === 0 ? null : passed / total;
}

/** A `ProbeReader` over a log file, with the checks it has read so far. */
export interface ProbeLogReader extends ProbeReader {
  /** Reads new lines and returns every check in the file so far, oldest first. */
  checks(): ProbeCheck[];
}

/**
 * Creates a reader of a `probe.log` that a probe in another process appends to. Each call reads
 * only the bytes added since the previous one. A missing file reads as no checks, and a line in
 * another format is skipped and logged.
 */
export function createProbeLogReader(logFile: string): ProbeLogReader {
  const checks: ProbeCheck[] = [];
  let offset = 0;
  let partialLine = '';
  let skippedLines = 0;

  const readNew = (): void => {
    let fd: number;
    try {
      fd = openSync(logFile, 'r');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    try {
      const size = fstatSync(fd).size;
      if (size < offset) {
        // The file was truncated or replaced: read it again from the start.
        checks.length = 0;
        offset = 0;
        partialLine = '';
      }
      if (size === offset) return;
      const buffer = Buffer.alloc(size - offset);
      const bytesRead = readSync(fd, buffer, 0, buffer.length, offset);
      offset += bytesRead;
      const lines = (partialLine + buffer.subarray(0, bytesRead).toString('utf8')).split('\n');
      // The last element is a line still being written (or empty after a final newline).
      partialLine = lines.pop() ?? '';
      for (const line of lines) {
        if (line.trim() === '') continue;
        const check = parseProbeLine(line);
        if (check) checks.push(check);
        else {
          skippedLines += 1;
          log('skipped probe log line %d in %s: %j', skippedLines, logFile, line);
        }
      }
    } finally {
      closeSync(fd);
    }
  };

  return {
    passRate(fromMs, toMs = Date.now()) {
      readNew();
      return passRateOf(checks, fromMs, toMs);
    },
    checks() {
      readNew();
      return [...checks];
    },
  };
}
