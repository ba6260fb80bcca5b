import { expect } from 'vitest';
import { formatDuration, parseDurationMs } from '../duration.ts';
import type { ExperimentRecord } from '../record.ts';

/** Matchers on an `ExperimentRecord`; `.not` negates each one as usual. */
export interface ChaosMatchers<R = unknown> {
  /** Passes when the pipeline raised an alert inside the detection window. */
  toBeDetected(): R;
  /** Passes when it was detected and the MTTD is at most the bound (ms or a duration like `60s`). */
  toBeDetectedWithin(bound: number | string): R;
  /** Passes when the RCA answer names the service, or one of the services of a list. */
  toHaveRootCause(service: string | readonly string[]): R;
}

declare module 'vitest' {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any, @typescript-eslint/no-empty-object-type
  interface Matchers<T = any> extends ChaosMatchers<T> {}
}

function isRecord(value: unknown): value is ExperimentRecord {
  return (
    value !== null &&
    typeof value === 'object' &&
    (value as { kind?: unknown }).kind === 'experiment'
  );
}

function notARecord(value: unknown) {
  return {
    pass: false,
    message: () => `expected an ExperimentRecord (kind "experiment"), received ${typeof value}`,
  };
}

function describeDetection(record: ExperimentRecord): string {
  const { detection } = record;
  if (!detection.detected)
    return `no alert in the detection window (${record.pipelineErrors.length} pipeline error(s))`;
  const first = detection.firstAlert;
  return `first alert ${first?.signal ?? '?'} on ${first?.service ?? '?'} after ${formatDuration(detection.mttdMs ?? 0)}`;
}

expect.extend({
  toBeDetected(received: unknown) {
    if (!isRecord(received)) return notARecord(received);
    return {
      pass: received.detection.detected,
      message: () =>
        received.detection.detected
          ? `expected experiment ${received.id} to stay undetected, but: ${describeDetection(received)}`
          : `expected experiment ${received.id} to be detected, but: ${describeDetection(received)}`,
    };
  },

  toBeDetectedWithin(received: unknown, bound: number | string) {
    if (!isRecord(received)) return notARecord(received);
    const boundMs = parseDurationMs(bound);
    if (boundMs === undefined)
      throw new TypeError(
        `toBeDetectedWithin: invalid bound ${JSON.stringify(bound)}; pass ms or a duration such as 60s.`,
      );
    const mttdMs = received.detection.mttdMs;
    const pass = received.detection.detected && mttdMs !== undefined && mttdMs <= boundMs;
    return {
      pass,
      message: () =>
        `expected experiment ${received.id} ${pass ? 'not ' : ''}to be detected within ${formatDuration(boundMs)}, but: ${describeDetection(received)}`,
      actual: mttdMs,
      expected: boundMs,
    };
  },

  toHaveRootCause(received: unknown, service: string | readonly string[]) {
    if (!isRecord(received)) return notARecord(received);
    const services = typeof service === 'string' ? [service] : [...service];
    const named = received.rca?.rootService ?? null;
    const pass = named !== null && services.includes(named);
    const answer = received.rca
      ? `RCA named ${named ?? 'no service'} (confidence ${received.rca.confidence})`
      : 'no RCA answer';
    return {
      pass,
      message: () =>
        `expected the RCA of experiment ${received.id} ${pass ? 'not ' : ''}to name ${services.join(' or ')}, but: ${answer}`,
      actual: named,
      expected: services,
    };
  },
});
