import { z } from 'zod';
import { baselineWindowRecordSchema, experimentRecordSchema } from '../../harness/record.ts';

/** Version of `chaos_results.json`; raised on any change that breaks a reader. */
export const RESULTS_SCHEMA_VERSION = 1;

const ratioSchema = z.union([
  z.object({
    defined: z.literal(true),
    numerator: z.number(),
    denominator: z.number(),
    value: z.number(),
  }),
  z.object({
    defined: z.literal(false),
    numerator: z.number(),
    denominator: z.literal(0),
    reason: z.string(),
  }),
]);

export const outcomeSchema = z.object({
  id: z.string(),
  name: z.string(),
  status: z.enum(['completed', 'invalid', 'aborted', 'error']),
  scored: z.boolean(),
  detected: z.boolean(),
  mttdMs: z.number().optional(),
  rcaService: z.string().nullable().optional(),
  rcaCorrect: z.boolean().optional(),
  mustNotPickViolated: z.boolean(),
  mttdOverMaxMs: z.number().optional(),
});

const gapSchema = z.object({
  id: z.string(),
  stage: z.enum(['detector', 'pipeline error', 'correlator', 'RCA', 'detector (slow)']),
  symptom: z.string(),
  cause: z.string(),
  evidence: z.array(z.string()),
});

const summarySchema = z.object({
  total: z.number(),
  completed: z.number(),
  matrix: z.object({
    truePositives: z.number(),
    falseNegatives: z.number(),
    falsePositives: z.number(),
    trueNegatives: z.number(),
  }),
  baselineWindows: z.number(),
  /** Alerts fired inside baseline windows. */
  falseAlarms: z.number(),
  /** Quiet baseline windows with failed pipeline polls; missing in older files. */
  unreliableWindows: z.number().optional(),
  cooldownAlerts: z.number(),
  precision: ratioSchema,
  recall: ratioSchema,
  rcaCorrect: z.number(),
  rcaAccuracy: ratioSchema,
  mttdP50Ms: z.number().optional(),
  mttdP95Ms: z.number().optional(),
});

const gateSchema = z.union([
  z.object({
    mode: z.literal('on'),
    thresholds: z.object({
      detectedMin: z.number(),
      rcaCorrectMin: z.number(),
      falseAlarmsMax: z.number(),
    }),
    passed: z.boolean(),
    checks: z.array(
      z.object({
        bound: z.enum(['detected', 'rca_correct', 'false_alarms']),
        status: z.enum(['passed', 'failed', 'skipped']),
        message: z.string(),
      }),
    ),
  }),
  z.object({ mode: z.literal('off') }),
]);

const setupSchema = z.object({
  frameworkVersion: z.string(),
  gitCommit: z.string().nullable(),
  vitestVersion: z.string().nullable(),
  nodeVersion: z.string(),
  stackVersions: z.array(z.string()),
  pipelineVersions: z.array(z.string()),
  baselineWindow: z.object({ startedAtMs: z.number(), endedAtMs: z.number() }).nullable(),
  experimentCount: z.number(),
});

/**
 * Schema of `chaos_results.json`. The file is rewritten after each experiment ends, with
 * `complete: false` until the run ends; every time in it is unix milliseconds.
 */
export const resultsFileSchema = z.object({
  kind: z.literal('vitest-chaos-results'),
  schemaVersion: z.literal(RESULTS_SCHEMA_VERSION),
  complete: z.boolean(),
  /** End state Vitest gave the run; present once `complete` is true. */
  endReason: z.enum(['passed', 'failed', 'interrupted']).optional(),
  updatedAtMs: z.number(),
  setup: setupSchema,
  summary: summarySchema,
  gate: gateSchema,
  rcaBaselines: z.array(
    z.object({
      name: z.enum(['first-alert', 'most-alerts']),
      description: z.string(),
      accuracy: ratioSchema,
      picks: z.record(z.string(), z.string().nullable()),
    }),
  ),
  experiments: z.array(
    z.object({ record: experimentRecordSchema, outcome: outcomeSchema, gap: gapSchema.optional() }),
  ),
  baselineWindows: z.array(baselineWindowRecordSchema),
  notScored: z.array(
    z.object({ id: z.string(), name: z.string(), status: z.string(), reason: z.string() }),
  ),
});
export type ResultsFile = z.infer<typeof resultsFileSchema>;
export type RunSetup = z.infer<typeof setupSchema>;
