import { closeSync, mkdirSync, openSync, writeSync } from 'node:fs';
import http from 'node:http';
import https from 'node:https';
import { dirname } from 'node:path';
import createDebug from 'debug';
import { formatProbeLine, passRateOf, type ProbeCheck, type ProbeReader } from './probe-log.ts';

export {
  createProbeLogReader,
  formatProbeLine,
  parseProbeLine,
  type ProbeCheck,
  type ProbeLogReader,
  type ProbeReader,
} from './probe-log.ts';

const log = createDebug('chaos:steady');

/** Options of the synthetic probe. */
export interface ProbeOptions {
  /** The user-facing endpoint to check, for the embedded stack `StackInfo.probeUrl`. */
  url: string;
  /** Time between the starts of two checks in ms: 1000 in the quick profile, 5000 in the full one. */
  intervalMs: number;
  /** A check passes when HTTP 200 arrives within this many ms. Default 500. */
  latencyBoundMs?: number;
  /** A check gives up after this many ms. Default twice the latency bound, at least 1000. */
  timeoutMs?: number;
  /** File the probe appends one line per check to, created with its folder when missing. */
  logFile: string;
}

/** A running synthetic probe. */
export interface Probe extends ProbeReader, AsyncDisposable {
  /** Every check so far, oldest first. */
  checks(): ProbeCheck[];
  /** Stops scheduling checks, waits for the one in flight and closes the log file. */
  stop(): Promise<void>;
}

/** Returns the code a failed request is logged with: the socket error code when there is one. */
function failureCode(error: unknown): string {
  const code = (error as NodeJS.ErrnoException | undefined)?.code;
  return typeof code === 'string' && code !== '' ? code : 'error';
}

/**
 * Sends one GET on a fresh connection (no keep-alive, so connection faults show in every check)
 * and resolves with the status or failure code and the time until the body was read.
 */
export function checkEndpoint(
  url: URL,
  timeoutMs: number,
): Promise<Omit<ProbeCheck, 'pass' | 'atMs'>> {
  return new Promise((resolve) => {
    const startedAt = performance.now();
    const client = url.protocol === 'https:' ? https : http;
    let settled = false;
    const finish = (code: string): void => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      request.destroy();
      resolve({ code, latencyMs: performance.now() - startedAt });
    };
    const headers = { 'user-agent': 'vitest-chaos-probe' };
    // The callbacks below run asynchronously, after `request` and `timer` are initialised.
    const request = client.get(url, { agent: false, headers }, (response) => {
      response.on('data', () => undefined);
      response.on('end', () => finish(String(response.statusCode ?? 0)));
      response.on('error', (error) => finish(failureCode(error)));
    });
    request.on('error', (error) => finish(failureCode(error)));
    const timer = setTimeout(() => finish('timeout'), timeoutMs);
  });
}

/**
 * Starts the synthetic probe: a black-box check of one endpoint every `intervalMs`, from now
 * until `stop()`. Each check is appended to `logFile` with a synchronous write as soon as it
 * ends, so a crash loses no finished check. A check that outlasts the interval delays the next
 * one to the following interval boundary instead of overlapping it.
 */
export function startProbe(options: ProbeOptions): Probe {
  const url = new URL(options.url);
  const latencyBoundMs = options.latencyBoundMs ?? 500;
  const timeoutMs = options.timeoutMs ?? Math.max(2 * latencyBoundMs, 1_000);
  const { intervalMs } = options;
  if (!(intervalMs > 0)) {
    throw new RangeError(
      `Probe intervalMs must be a positive number of ms (received ${intervalMs}).`,
    );
  }
  mkdirSync(dirname(options.logFile), { recursive: true });
  const fd = openSync(options.logFile, 'a');
  const checks: ProbeCheck[] = [];
  const startedAtMs = Date.now();
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;
  let inFlight: Promise<void> | undefined;
  let writeFailures = 0;

  const record = (check: ProbeCheck): void => {
    checks.push(check);
    try {
      writeSync(fd, formatProbeLine(check));
    } catch (error) {
      // The check stays in memory; the log misses it, so count and report the failure.
      writeFailures += 1;
      log('failed to append probe check %d to %s: %O', writeFailures, options.logFile, error);
    }
  };

  const runCheck = async (): Promise<void> => {
    const atMs = Date.now();
    const result = await checkEndpoint(url, timeoutMs);
    const pass = result.code === '200' && result.latencyMs <= latencyBoundMs;
    record({ atMs, pass, ...result });
    if (!pass)
      log('probe check failed: %s %s in %dms', url.href, result.code, Math.round(result.latencyMs));
  };

  const schedule = (): void => {
    if (stopped) return;
    const elapsedMs = Date.now() - startedAtMs;
    const nextAtMs = startedAtMs + (Math.floor(elapsedMs / intervalMs) + 1) * intervalMs;
    timer = setTimeout(tick, Math.max(0, nextAtMs - Date.now()));
  };

  const tick = (): void => {
    inFlight = runCheck().finally(() => {
      inFlight = undefined;
      schedule();
    });
  };

  log(
    'probe started: %s every %dms, bound %dms, log %s',
    url.href,
    intervalMs,
    latencyBoundMs,
    options.logFile,
  );
  tick();

  let stopping: Promise<void> | undefined;
  const stop = (): Promise<void> => {
    stopping ??= (async () => {
      stopped = true;
      clearTimeout(timer);
      await inFlight;
      closeSync(fd);
      log('probe stopped: %s after %d checks', url.href, checks.length);
    })();
    return stopping;
  };

  return {
    passRate: (fromMs, toMs = Date.now()) => passRateOf(checks, fromMs, toMs),
    checks: () => [...checks],
    stop,
    [Symbol.asyncDispose]: stop,
  };
}
