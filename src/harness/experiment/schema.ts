import { z } from 'zod';
import { fraction, MAX_DURATION_MS, parseDurationMs } from '../duration.ts';
import { faultSchema, parseEdge } from '../faults/spec.ts';
import { ConditionSyntaxError, parseCondition, type Condition } from '../steady/conditions.ts';

const UNITLESS_NUMBER = /^[+-]?\d+(\.\d+)?$/;
const DURATION_CONSTRAINT =
  'a non-negative duration up to 24h, such as 500ms, 30s, 2m, or a number (not a string) of milliseconds';

/**
 * Parses a catalog duration: `500ms`, `30s`, `2m` or a YAML number of milliseconds. A string
 * without a unit such as "30" is rejected, because authors write it meaning seconds.
 */
export const catalogDurationMs = z.unknown().transform((value, ctx) => {
  const unitless = typeof value === 'string' && UNITLESS_NUMBER.test(value.trim());
  const ms = unitless ? undefined : parseDurationMs(value);
  if (ms === undefined || ms > MAX_DURATION_MS) {
    ctx.addIssue({ code: 'custom', message: DURATION_CONSTRAINT, input: value });
    return z.NEVER;
  }
  return ms;
});

/** Fault fields that hold durations; checked for unit-less strings before the fault schema. */
const FAULT_DURATION_FIELDS = [
  'latency',
  'jitter',
  'interval',
  'restart_after',
  'delay',
  'after',
  'offset',
];

/** A condition as written and as parsed. */
export interface ParsedCondition {
  text: string;
  condition: Condition;
}

const conditionSchema = z.string().transform((text, ctx): ParsedCondition => {
  try {
    return { text, condition: parseCondition(text) };
  } catch (error) {
    if (!(error instanceof ConditionSyntaxError)) throw error;
    ctx.addIssue({
      code: 'custom',
      message: `a condition such as "probe_pass_rate < 90% for 30s" (column ${error.column}: expected ${error.expected}, found ${error.found})`,
      input: text,
    });
    return z.NEVER;
  }
});

const serviceName = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]*$/, 'a service name such as payment-svc');

const hypothesisSchema = z.strictObject({
  text: z.string().min(1),
  expect: z.strictObject({
    detected: z.boolean(),
    mttd_max: catalogDurationMs.optional(),
    rca: serviceName.optional(),
  }),
});

const blastRadiusSchema = z.strictObject({
  target: z.string().min(1),
  traffic: fraction.default(1),
  duration: catalogDurationMs.refine((ms) => ms > 0, 'a positive duration'),
});

const rollbackSchema = z.strictObject({
  automatic: z.boolean().default(true),
  trigger_when: conditionSchema.optional(),
  method: z.string().optional(),
});

const measurementSchema = z.strictObject({
  metrics: z.array(z.string()).default([]),
  capture_window: z
    .strictObject({ before: catalogDurationMs.default(0), after: catalogDurationMs.default(0) })
    .default({ before: 0, after: 0 }),
  detection_timeout: catalogDurationMs.optional(),
});

const groundTruthSchema = z.strictObject({
  root_service: serviceName,
  also_correct: z.array(serviceName).default([]),
  must_not_pick: z.array(serviceName).default([]),
});

/** The schema of one catalog entry as written in YAML (snake_case keys). */
export const experimentInputSchema = z.strictObject({
  id: z.union([z.string().min(1), z.number().int().nonnegative()]),
  name: z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'a name of letters, digits, _ . or -'),
  hypothesis: hypothesisSchema,
  fault: faultSchema,
  blast_radius: blastRadiusSchema,
  rollback: rollbackSchema.default({ automatic: true }),
  measurement: measurementSchema.optional(),
  abort_conditions: z.array(conditionSchema).default([]),
  ground_truth: groundTruthSchema,
});

/** Checks that span fields, on the raw entry, so they run even when another field fails. */
function checkAcrossFields(raw: unknown, ctx: z.RefinementCtx): void {
  if (raw === null || typeof raw !== 'object') return;
  const fault = (raw as { fault?: unknown }).fault;
  if (fault === null || typeof fault !== 'object') return;
  const fields = fault as Record<string, unknown>;
  for (const key of FAULT_DURATION_FIELDS) {
    const value = fields[key];
    if (typeof value === 'string' && UNITLESS_NUMBER.test(value.trim())) {
      ctx.addIssue({
        code: 'custom',
        path: ['fault', key],
        message: DURATION_CONSTRAINT,
        input: value,
      });
    }
  }
  const hasTwoEnds =
    fields.between !== undefined ||
    (typeof fields.target === 'string' && parseEdge(fields.target) !== undefined);
  if (fields.type === 'network_partition' && !hasTwoEnds) {
    ctx.addIssue({
      code: 'custom',
      path: ['fault', 'target'],
      message:
        'an edge written caller->callee, or the fault needs between: [service-a, service-b], since a partition has two ends',
      input: fields.target,
    });
  }
}

function toExperiment(input: z.output<typeof experimentInputSchema>) {
  const { hypothesis, blast_radius: blast, measurement, ground_truth: truth } = input;
  return {
    id: String(input.id),
    name: input.name,
    hypothesis: {
      text: hypothesis.text,
      expect: {
        detected: hypothesis.expect.detected,
        mttdMaxMs: hypothesis.expect.mttd_max,
        rca: hypothesis.expect.rca,
      },
    },
    fault: input.fault,
    blastRadius: { target: blast.target, traffic: blast.traffic, durationMs: blast.duration },
    rollback: {
      automatic: input.rollback.automatic,
      triggerWhen: input.rollback.trigger_when,
      method: input.rollback.method,
    },
    measurement: {
      metrics: measurement?.metrics ?? [],
      captureWindow: {
        beforeMs: measurement?.capture_window.before ?? 0,
        afterMs: measurement?.capture_window.after ?? 0,
      },
      detectionTimeoutMs: measurement?.detection_timeout ?? blast.duration,
    },
    abortConditions: input.abort_conditions,
    groundTruth: {
      rootService: truth.root_service,
      alsoCorrect: truth.also_correct,
      mustNotPick: truth.must_not_pick,
    },
  };
}

/**
 * The schema of one experiment: validates a catalog entry and returns the parsed form with
 * camelCase keys, durations in milliseconds and conditions parsed. The fault keeps its own
 * parsed form from `faultSchema`.
 */
export const experimentSchema = z.unknown().transform((raw, ctx) => {
  checkAcrossFields(raw, ctx);
  const parsed = experimentInputSchema.safeParse(raw);
  if (!parsed.success) {
    for (const issue of parsed.error.issues) ctx.addIssue({ ...issue, input: undefined });
    return z.NEVER;
  }
  return toExperiment(parsed.data);
});

/** An experiment as written in a catalog or passed to `defineExperiment`. */
export type ExperimentInput = z.input<typeof experimentInputSchema>;

/** A validated experiment: durations in milliseconds, conditions parsed. */
export type Experiment = z.output<typeof experimentSchema> & {
  /** Catalog file the experiment came from and the SHA-256 of its content. */
  source?: { file?: string; sha256?: string };
};
