/** Stable codes of the network fault drivers' errors, for tests and callers to branch on. */
export type NetworkFaultErrorCode =
  | 'TOXIPROXY_NOT_FOUND'
  | 'TOXIPROXY_START_FAILED'
  | 'TOXIPROXY_REQUEST_FAILED'
  | 'FAULT_TARGET_INVALID'
  | 'FAULT_UNSUPPORTED'
  | 'FAULT_PLAN_INVALID'
  | 'IPTABLES_FAILED'
  | 'FAULT_LAYER_REQUEST_FAILED'
  | 'FAULT_LAYER_CONFIG_INVALID';

/**
 * An error of the network fault drivers, the Toxiproxy server launcher or the fault layer.
 * The message states what failed, on which value, and what to do next.
 */
export class NetworkFaultError extends Error {
  readonly code: NetworkFaultErrorCode;

  constructor(code: NetworkFaultErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NetworkFaultError';
    this.code = code;
  }
}
