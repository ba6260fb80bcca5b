import { z } from 'zod';

const routeName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]*$/, 'a name of letters, digits, dots, dashes, underscores');
const port = z.number().int().min(0).max(65_535);

/** The configuration of a fault layer: one HTTP route per edge, one DNS forwarder per service. */
export const faultLayerConfigSchema = z.strictObject({
  httpRoutes: z
    .array(
      z.strictObject({
        /** Route name; for an edge `<caller>__<callee>`. */
        name: routeName,
        /** Base URL the route forwards to, for example the callee's own `http://127.0.0.1:port`. */
        targetUrl: z.url(),
        /** Port on 127.0.0.1; default 0, a free port. */
        listenPort: port.optional(),
      }),
    )
    .default([]),
  dnsForwarders: z
    .array(
      z.strictObject({
        /** Forwarder name, the service that resolves through it. */
        name: routeName,
        /** The DNS server queries are forwarded to (UDP). */
        upstream: z.strictObject({ host: z.string().min(1), port: port.min(1) }),
        /** UDP port on 127.0.0.1; default 0, a free port. */
        listenPort: port.optional(),
      }),
    )
    .default([]),
  /** Admin API port on 127.0.0.1; default 0, a free port. */
  adminPort: port.optional(),
});
export type FaultLayerConfig = z.input<typeof faultLayerConfigSchema>;
export type ParsedFaultLayerConfig = z.output<typeof faultLayerConfigSchema>;

const probability = z.number().min(0).max(1);
const ruleId = z.string().regex(/^[A-Za-z0-9._:-]{1,200}$/, 'letters, digits and . _ : -');

/**
 * An HTTP fault rule, the body of `PUT /http/<route>`. The rule acts on a `probability` share
 * of requests (default 1): such a request waits `delayMs`, then gets `status` when one is set
 * or else goes on to the target. Independently, an `abortProbability` share of requests has its
 * connection destroyed with no response.
 */
export const httpRuleSchema = z.strictObject({
  ruleId,
  status: z.number().int().min(100).max(599).optional(),
  probability: probability.default(1),
  delayMs: z.number().min(0).max(600_000).default(0),
  abortProbability: probability.default(0),
  /** Seed of the rule's random choices, so a run can be replayed; default 1. */
  seed: z.number().int().default(1),
});
export type HttpRuleInput = z.input<typeof httpRuleSchema>;
export type HttpRule = z.output<typeof httpRuleSchema>;

/**
 * A DNS delay rule, the body of `PUT /dns/<name>`: answers are sent `delayMs` late, for every
 * query or, with `names`, only for queries of those names (case-insensitive, also with a
 * search domain appended).
 */
export const dnsRuleSchema = z.strictObject({
  ruleId,
  delayMs: z.number().min(0).max(600_000),
  names: z.array(z.string().min(1)).min(1).optional(),
});
export type DnsRule = z.output<typeof dnsRuleSchema>;

/** Formats zod issues as `<path> must be <constraint> (received <value>)` lines. */
export function describeIssues(error: z.ZodError, input: unknown): string {
  return error.issues
    .map((issue) => {
      const received = issue.path.reduce<unknown>(
        (value, key) =>
          value !== null && typeof value === 'object'
            ? (value as Record<PropertyKey, unknown>)[key]
            : undefined,
        input,
      );
      const where = issue.path.length > 0 ? issue.path.join('.') : '(body)';
      return `${where}: ${issue.message} (received ${JSON.stringify(received) ?? 'nothing'})`;
    })
    .join('; ');
}
