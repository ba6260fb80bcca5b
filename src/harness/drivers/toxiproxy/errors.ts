import { DriverError, type ChaosErrorOptions } from '../../errors.ts';

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
