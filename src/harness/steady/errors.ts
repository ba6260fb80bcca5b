/** Stable codes of the steady-state errors. */
export type SteadyStateErrorCode =
  'PROMETHEUS_UNREACHABLE' | 'PROMETHEUS_QUERY_FAILED' | 'BASELINE_INVALID' | 'METRICS_INVALID';

/**
 * Error of the steady-state module: a Prometheus that cannot be reached or queried, a baseline
 * that cannot be captured or read, or a `/metrics` body that is not Prometheus text.
 */
export class SteadyStateError extends Error {
  override readonly name = 'SteadyStateError';
  /** The offending value: a URL, a file, a query or a response excerpt. */
  readonly value: unknown;

  constructor(
    readonly code: SteadyStateErrorCode,
    message: string,
    options: { cause?: unknown; value?: unknown } = {},
  ) {
    super(message, { cause: options.cause });
    this.value = options.value;
  }
}

/** Returns the message of an unknown thrown value. */
export function errorMessage(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
