import { DriverError, type ChaosErrorOptions } from '../../errors.ts';
import type { HttpExchange } from '../http-request.ts';

/** Finer reasons of the network fault errors, next to the stable `code` of {@link DriverError}. */
export type NetworkFaultReason =
  | 'toxiproxy-start-failed'
  | 'toxiproxy-request-failed'
  | 'target-invalid'
  | 'plan-invalid'
  | 'iptables-failed'
  | 'fault-layer-request-failed'
  | 'fault-layer-config-invalid';

/**
 * A failure of a network fault driver, the Toxiproxy server launcher or the fault layer. Its
 * `code` is `DRIVER_FAILED`, and `reason` distinguishes the failures.
 */
export class NetworkFaultError extends DriverError {
  readonly reason: NetworkFaultReason;

  constructor(
    reason: NetworkFaultReason,
    message: string,
    options: ChaosErrorOptions & { driver?: string } = {},
  ) {
    super(message, options);
    this.reason = reason;
  }
}

/** Describes a fetch failure with the socket error code that undici keeps in `cause`. */
function describeCause(error: unknown): string {
  if (!(error instanceof Error)) return String(error);
  const inner = error.cause;
  if (inner instanceof Error) return `${error.message}: ${inner.message}`;
  return error.message;
}

/**
 * A failed request to the admin API of Toxiproxy or of the fault layer, with method, URL,
 * status and body. Its message names the server, the request and what came back.
 */
export class AdminRequestError extends NetworkFaultError {
  readonly method: string;
  readonly url: string;
  /** HTTP status, or undefined when no response arrived (refused, timed out). */
  readonly status: number | undefined;
  readonly responseBody: string;

  constructor(
    reason: NetworkFaultReason,
    server: { name: string; driver?: string; fixWithoutResponse: string },
    request: HttpExchange,
    cause?: unknown,
  ) {
    const outcome =
      request.status === undefined
        ? `no response (${describeCause(cause)})`
        : `status ${request.status}, body ${JSON.stringify((request.responseBody ?? '').slice(0, 300))}`;
    super(reason, `${server.name} request ${request.method} ${request.url} failed: ${outcome}.`, {
      cause,
      ...(server.driver === undefined ? {} : { driver: server.driver }),
      value: request.url,
      fix: request.status === undefined ? server.fixWithoutResponse : undefined,
    });
    this.method = request.method;
    this.url = request.url;
    this.status = request.status;
    this.responseBody = request.responseBody ?? '';
  }
}
