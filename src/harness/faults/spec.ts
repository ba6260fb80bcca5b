import { z } from 'zod';
import { durationMs, fraction, signedDurationMs } from '../duration.ts';

/** The ten fault types of the experiment catalog. */
export const CATALOG_FAULT_TYPES = [
  'latency',
  'network_loss',
  'availability',
  'cpu_saturation',
  'memory',
  'disk_fill',
  'time_skew',
  'network_partition',
  'dns_latency',
  'cascade_retry',
] as const;

/** Fault types beyond the catalog, for users' own experiments. */
export const EXTRA_FAULT_TYPES = [
  'bandwidth',
  'connection_reset',
  'down',
  'http_slow',
  'process_pause',
  'fd_exhaustion',
  'config_corruption',
  'cache_poisoning',
] as const;

export const FAULT_TYPES = [...CATALOG_FAULT_TYPES, ...EXTRA_FAULT_TYPES] as const;
export type FaultType = (typeof FAULT_TYPES)[number];

/** A service name or an edge written `caller->callee`. */
const targetName = z
  .string()
  .regex(
    /^[a-z0-9][a-z0-9._-]*(->[a-z0-9][a-z0-9._-]*)?$/,
    'a service name or an edge written caller->callee',
  );

const edgeName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]*->[a-z0-9][a-z0-9._-]*$/, 'an edge written caller->callee');

const common = {
  target: targetName,
  /** Forces one driver (for example `iptables` for packet loss) instead of the first that fits. */
  driver: z.string().optional(),
  /** Seed for every random choice the fault makes, so a run can be replayed. */
  seed: z.number().int().optional(),
  /**
   * For a service that runs as several replicas (Docker Compose): how many of them the fault
   * hits, `one`, a count, or `all` (the default). The seed picks which replicas.
   */
  instances: z.union([z.enum(['one', 'all']), z.number().int().positive()]).optional(),
};

const direction = z.enum(['downstream', 'upstream', 'both']);

/**
 * The schema of one fault, as written in a YAML catalog entry (snake_case keys, durations as
 * text) and as parsed (camelCase keys, durations in milliseconds, shares as fractions).
 */
export const faultSchema = z.discriminatedUnion('type', [
  z.strictObject({
    type: z.literal('latency'),
    ...common,
    latency: durationMs,
    jitter: durationMs.default(0),
    direction: direction.default('downstream'),
  }),
  z.strictObject({
    type: z.literal('network_loss'),
    ...common,
    probability: fraction,
    /** `connection`: Toxiproxy fails that share of connections; `packet`: iptables drops packets. */
    mechanism: z.enum(['connection', 'packet']).optional(),
  }),
  z.strictObject({
    type: z.literal('availability'),
    ...common,
    interval: durationMs.optional(),
    restart_after: durationMs.default(2_000),
  }),
  z.strictObject({
    type: z.literal('cpu_saturation'),
    ...common,
    load: z.number().int().min(1).max(100),
    workers: z.number().int().min(1).max(64).default(2),
    /** CPUs the target may use while saturated (cgroup quota), default half a core. */
    cpu_limit: z.number().positive().max(64).default(0.5),
  }),
  z.strictObject({
    type: z.literal('memory'),
    ...common,
    fill: z.number().min(1).max(100),
  }),
  z.strictObject({
    type: z.literal('disk_fill'),
    ...common,
    fill: z.number().min(1).max(100),
    path: z.string().optional(),
  }),
  z.strictObject({
    type: z.literal('time_skew'),
    ...common,
    offset: signedDurationMs,
  }),
  z.strictObject({
    type: z.literal('network_partition'),
    ...common,
    between: z.tuple([z.string().min(1), z.string().min(1)]).optional(),
  }),
  z.strictObject({
    type: z.literal('dns_latency'),
    ...common,
    delay: durationMs,
  }),
  z.strictObject({
    type: z.literal('cascade_retry'),
    ...common,
    target: edgeName,
    status: z.number().int().min(400).max(599).default(500),
    probability: fraction,
  }),
  z.strictObject({
    type: z.literal('bandwidth'),
    ...common,
    rate_kbps: z.number().int().positive(),
    direction: direction.default('downstream'),
  }),
  z.strictObject({
    type: z.literal('connection_reset'),
    ...common,
    after: durationMs.default(0),
  }),
  z.strictObject({ type: z.literal('down'), ...common }),
  z.strictObject({
    type: z.literal('http_slow'),
    ...common,
    delay: durationMs,
    probability: fraction.default(1),
  }),
  z.strictObject({ type: z.literal('process_pause'), ...common }),
  z.strictObject({
    type: z.literal('fd_exhaustion'),
    ...common,
    fill: z.number().min(1).max(100).default(100),
  }),
  z.strictObject({ type: z.literal('config_corruption'), ...common, path: z.string().optional() }),
  z.strictObject({ type: z.literal('cache_poisoning'), ...common, share: fraction.default(1) }),
]);

/** A fault as written in a catalog file. */
export type FaultInput = z.input<typeof faultSchema>;
/** A parsed fault: durations in milliseconds, shares as fractions between 0 and 1. */
export type Fault = z.output<typeof faultSchema>;
export type FaultOf<T extends FaultType> = Extract<Fault, { type: T }>;

/** Splits an edge target `caller->callee`; returns `undefined` for a service target. */
export function parseEdge(target: string): { caller: string; callee: string } | undefined {
  const parts = target.split('->');
  if (parts.length !== 2 || !parts[0] || !parts[1]) return undefined;
  return { caller: parts[0], callee: parts[1] };
}
