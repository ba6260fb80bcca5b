import { DriverError, type ChaosErrorOptions } from '../../errors.ts';

/** Finer reasons of the Docker driver's errors, next to the stable `code` of {@link DriverError}. */
export type DockerFaultReason =
  /** Nothing listens on the engine socket, or the socket file is missing. */
  | 'engine-unreachable'
  /** The socket exists but this user may not open it. */
  | 'socket-permission'
  /** No container carries the Compose labels or the name of the target. */
  | 'target-not-found'
  /** A program the fault runs inside the container (stress-ng, node) is not in its image. */
  | 'tool-missing'
  /** The container lacks what the fault needs: a memory limit, a volume, a libfaketime preload. */
  | 'container-unsuitable'
  /** The engine rejected a request or an exec failed. */
  | 'engine-request-failed'
  /** A host command (iptables, nsenter) failed. */
  | 'host-command-failed'
  /** The plan is not one this driver wrote. */
  | 'plan-invalid'
  /** The fault did not reach the expected state in time, or could not be undone. */
  | 'timed-out';

/**
 * A failure of the Docker driver. Its `code` is `DRIVER_FAILED` like every driver error, and
 * `reason` tells the failures apart.
 */
export class DockerFaultError extends DriverError {
  readonly reason: DockerFaultReason;

  constructor(reason: DockerFaultReason, message: string, options: ChaosErrorOptions = {}) {
    super(message, { ...options, driver: 'docker' });
    this.reason = reason;
  }
}

/** Tells whether a value is a Docker driver error, optionally with a given reason. */
export function isDockerFaultError(
  error: unknown,
  reason?: DockerFaultReason,
): error is DockerFaultError {
  return error instanceof DockerFaultError && (reason === undefined || error.reason === reason);
}
