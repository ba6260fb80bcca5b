import type { Fault } from '../../faults/spec.ts';
import type { ToxicSpec } from './client.ts';
import { NetworkFaultError } from './errors.ts';

/** Fault types the Toxiproxy driver injects. */
export const TOXIPROXY_FAULT_TYPES = [
  'latency',
  'bandwidth',
  'network_partition',
  'down',
  'connection_reset',
  'network_loss',
] as const;
export type ToxiproxyFaultType = (typeof TOXIPROXY_FAULT_TYPES)[number];

/** The toxics (without names) of one fault, whether it disables the proxy, and in words how. */
export interface ToxicDesign {
  mechanism: string;
  toxics: Omit<ToxicSpec, 'name'>[];
  disableProxy: boolean;
  /** The fault's parameters with units in their names, recorded in the plan. */
  params: Record<string, number | string>;
}

type Stream = ToxicSpec['stream'];

function streamsOf(direction: 'downstream' | 'upstream' | 'both'): Stream[] {
  return direction === 'both' ? ['downstream', 'upstream'] : [direction];
}

/**
 * Designs the toxics of a fault. Toxiproxy's attribute units differ by toxic: `latency`,
 * `jitter` and `timeout` are milliseconds and `rate` is KB/s, so `params` restates them with
 * the unit in the name.
 */
export function designToxics(fault: Fault): ToxicDesign {
  switch (fault.type) {
    case 'latency':
      return {
        mechanism: `toxiproxy latency toxic (${fault.direction}), ${fault.latency} ms +/- ${fault.jitter} ms per direction`,
        toxics: streamsOf(fault.direction).map((stream) => ({
          type: 'latency',
          stream,
          toxicity: 1,
          attributes: { latency: fault.latency, jitter: fault.jitter },
        })),
        disableProxy: false,
        params: { latencyMs: fault.latency, jitterMs: fault.jitter, direction: fault.direction },
      };
    case 'bandwidth':
      return {
        // NOTE: rate_kbps is passed to Toxiproxy's `rate` attribute, which is kilobytes per
        // second, not kilobits.
        mechanism: `toxiproxy bandwidth toxic (${fault.direction}), ${fault.rate_kbps} KB/s`,
        toxics: streamsOf(fault.direction).map((stream) => ({
          type: 'bandwidth',
          stream,
          toxicity: 1,
          attributes: { rate: fault.rate_kbps },
        })),
        disableProxy: false,
        params: { rateKBps: fault.rate_kbps, direction: fault.direction },
      };
    case 'network_partition':
      return {
        mechanism:
          'toxiproxy timeout toxic with timeout 0 on both directions: no data passes and ' +
          'connections stay open, so callers hang until their own timeout',
        toxics: streamsOf('both').map((stream) => ({
          type: 'timeout',
          stream,
          toxicity: 1,
          attributes: { timeout: 0 },
        })),
        disableProxy: false,
        params: { timeoutMs: 0 },
      };
    default:
      return designFailureToxics(fault);
  }
}

function designFailureToxics(fault: Fault): ToxicDesign {
  switch (fault.type) {
    case 'down':
      return {
        mechanism: 'toxiproxy proxy disabled: new connections are refused',
        toxics: [],
        disableProxy: true,
        params: {},
      };
    case 'connection_reset':
      return {
        mechanism: `toxiproxy reset_peer toxic: every connection is reset (TCP RST) after ${fault.after} ms`,
        toxics: [resetPeer(1, fault.after)],
        disableProxy: false,
        params: { afterMs: fault.after },
      };
    case 'network_loss':
      return {
        mechanism:
          `toxiproxy reset_peer toxic with toxicity ${fault.probability}: Toxiproxy decides per ` +
          'connection, not per packet, so that share of connections is reset at once',
        toxics: [resetPeer(fault.probability, 0)],
        disableProxy: false,
        params: { connectionShare: fault.probability },
      };
    default:
      throw new NetworkFaultError(
        'plan-invalid',
        `The toxiproxy driver cannot inject ${fault.type}.`,
        {
          driver: 'toxiproxy',
          value: fault.type,
          fix: `It injects ${TOXIPROXY_FAULT_TYPES.join(', ')}; pick another driver for this fault.`,
        },
      );
  }
}

function resetPeer(toxicity: number, timeoutMs: number): Omit<ToxicSpec, 'name'> {
  return { type: 'reset_peer', stream: 'upstream', toxicity, attributes: { timeout: timeoutMs } };
}

/**
 * Returns the toxic name for an experiment: `chaos.<experimentKey>.<fault type>.<stream>`, so
 * two experiments on one proxy never share a toxic and a stale toxic names its experiment.
 */
export function toxicName(experimentKey: string, faultType: string, stream: Stream): string {
  const key = experimentKey.replace(/[^A-Za-z0-9_-]/g, '_');
  return `chaos.${key}.${faultType}.${stream}`;
}
