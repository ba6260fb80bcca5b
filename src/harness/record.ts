import { z } from 'zod';

/**
 * The data an experiment stores in its test meta (`task.meta.chaos`) for the reporter. It must be
 * JSON: test files run in worker processes. Times are unix milliseconds on the harness clock
 * unless a name says otherwise.
 */
export const RECORD_SCHEMA_VERSION = 1;

const alertSchema = z.object({
  id: z.string(),
  service: z.string(),
  signal: z.string(),
  severity: z.string(),
  firedAtMs: z.number(),
  summary: z.string(),
  observed: z.number().optional(),
  expected: z.number().optional(),
});

const pipelineErrorSchema = z.object({
  stage: z.enum(['alerts', 'correlate', 'rca', 'health']),
  message: z.string(),
  excerpt: z.string(),
  atMs: z.number(),
});

export const experimentRecordSchema = z.object({
  kind: z.literal('experiment'),
  schemaVersion: z.literal(RECORD_SCHEMA_VERSION),
  id: z.string(),
  name: z.string(),
  /** Catalog file the experiment came from, and the SHA-256 of its content. */
  source: z.object({ file: z.string().optional(), sha256: z.string().optional() }),
  hypothesis: z.object({
    text: z.string(),
    expect: z.object({
      detected: z.boolean(),
      mttdMaxMs: z.number().optional(),
      rca: z.string().optional(),
    }),
  }),
  fault: z.object({
    type: z.string(),
    target: z.string(),
    driver: z.string().optional(),
    mechanism: z.string().optional(),
    params: z.record(z.string(), z.unknown()),
  }),
  groundTruth: z.object({
    rootService: z.string(),
    alsoCorrect: z.array(z.string()),
    mustNotPick: z.array(z.string()),
  }),
  /**
   * `completed`: the fault ran its course and the pipeline was scored. `invalid`: the system was
   * not in steady state, a requirement was missing, or the fault never took effect; kept out of
   * recall. `aborted`: an abort condition or rollback trigger held; kept out of recall. `error`:
   * the harness itself failed.
   */
  status: z.enum(['completed', 'invalid', 'aborted', 'error']),
  reason: z.string().optional(),
  times: z.object({
    injectedAtMs: z.number().optional(),
    manifestedAtMs: z.number().optional(),
    rolledBackAtMs: z.number().optional(),
    detectionWindowEndMs: z.number().optional(),
  }),
  detection: z.object({
    detected: z.boolean(),
    /** First alert in the detection window, fire time corrected to the harness clock. */
    firstAlert: alertSchema.optional(),
    /** Harness time when the harness first saw an alert of the window. */
    firstSeenAtMs: z.number().optional(),
    /** First alert fire time (corrected) minus injection time. */
    mttdMs: z.number().optional(),
    /** First sighting minus injection time. */
    mttdSeenMs: z.number().optional(),
    /** Alerts fired inside the detection window, fire times corrected. */
    alerts: z.array(alertSchema),
  }),
  /** Pipeline clock minus harness clock, estimated from request round trips. */
  clockOffsetMs: z.number().optional(),
  correlation: z
    .object({ id: z.string(), alertIds: z.array(z.string()), services: z.array(z.string()) })
    .optional(),
  rca: z
    .object({
      rootService: z.string().nullable(),
      confidence: z.number(),
      evidence: z.array(z.unknown()),
      ranked: z.array(z.object({ service: z.string(), score: z.number() })).optional(),
    })
    .optional(),
  pipelineErrors: z.array(pipelineErrorSchema),
  /** Probe pass rates (0 to 1) before, during and after the fault; null when no check ran. */
  probe: z.object({
    before: z.number().nullable(),
    during: z.number().nullable(),
    after: z.number().nullable(),
  }),
  recovery: z
    .object({ recovered: z.boolean(), recoveryMs: z.number().optional(), detail: z.string() })
    .optional(),
  cooldown: z.object({ mode: z.enum(['adaptive', 'fixed']), waitedMs: z.number() }).optional(),
  abort: z.object({ condition: z.string(), values: z.record(z.string(), z.number()) }).optional(),
  versions: z.object({
    framework: z.string(),
    stack: z.string().optional(),
    pipeline: z.string().optional(),
  }),
  /** Recent harness log lines, attached when the experiment did not complete as expected. */
  logTail: z.array(z.string()).optional(),
});
export type ExperimentRecord = z.infer<typeof experimentRecordSchema>;

/** A period with no fault; any alert fired inside it is a false alarm. */
export const baselineWindowRecordSchema = z.object({
  kind: z.literal('baseline_window'),
  schemaVersion: z.literal(RECORD_SCHEMA_VERSION),
  startedAtMs: z.number(),
  endedAtMs: z.number(),
  alerts: z.array(alertSchema),
  pipelineErrors: z.array(pipelineErrorSchema),
  /** Alerts fired during cooldowns count for neither side; they are listed here when known. */
  cooldownAlerts: z.array(alertSchema).optional(),
});
export type BaselineWindowRecord = z.infer<typeof baselineWindowRecordSchema>;

export const chaosRecordSchema = z.discriminatedUnion('kind', [
  experimentRecordSchema,
  baselineWindowRecordSchema,
]);
export type ChaosRecord = z.infer<typeof chaosRecordSchema>;

/** The key under which a test's meta carries its record. */
export const META_KEY = 'chaos';
