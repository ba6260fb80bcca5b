import { afterAll, beforeAll, describe, expect, inject, it, type TestContext } from 'vitest';
import { CAMPAIGN_KEY, type CampaignContext } from '../campaign.ts';
import { formatDuration } from '../duration.ts';
import type { ChaosRecord, ExperimentRecord } from '../record.ts';
import { defineExperiment } from './catalog.ts';
import { resolveContext, type ExperimentOptions } from './context.ts';
import './matchers.ts';
import { createExperimentRecord } from './record-builder.ts';
import { ExperimentRun } from './run.ts';
import type { Experiment, ExperimentInput } from './schema.ts';

declare module 'vitest' {
  interface TaskMeta {
    /** The experiment or baseline window record the scoreboard reporter reads. */
    chaos?: ChaosRecord;
  }
}

/** Returns the campaign provided by globalSetup, or undefined outside a chaos campaign. */
export function campaignFromGlobalSetup(): CampaignContext | undefined {
  try {
    return inject(CAMPAIGN_KEY);
  } catch {
    return undefined;
  }
}

function hookTimeoutMs(
  experiment: Experiment,
  options: ExperimentOptions,
  campaign: CampaignContext | undefined,
): number {
  if (options.hookTimeoutMs !== undefined) return options.hookTimeoutMs;
  const profile = campaign?.profile;
  const steadyMs = options.steadyState === false ? 0 : 4 * (profile?.steadyStateWindowMs ?? 60_000);
  const windowMs = options.detectionWindowMs ?? experiment.measurement.detectionTimeoutMs;
  return steadyMs + windowMs + (options.manifestation?.timeoutMs ?? 10_000) + 60_000;
}

function finishTimeoutMs(
  options: ExperimentOptions,
  campaign: CampaignContext | undefined,
): number {
  const profile = campaign?.profile;
  const recoveryMs = options.recovery === false ? 0 : (profile?.recoveryTimeoutMs ?? 120_000);
  const cooldownMs = options.cooldown === false ? 0 : (profile?.cooldownMaxMs ?? 120_000);
  return recoveryMs + cooldownMs + 60_000;
}

/** Writes the verdict, MTTD and RCA answer as an annotation, shown by reporters and the UI. */
async function annotateVerdict(context: TestContext, record: ExperimentRecord): Promise<void> {
  const { detection, rca } = record;
  const verdict = detection.detected
    ? `detected, MTTD ${formatDuration(detection.mttdMs ?? 0)}`
    : 'not detected';
  const rcaText = rca
    ? `RCA ${rca.rootService ?? 'none'} (confidence ${rca.confidence})`
    : 'no RCA answer';
  await context.annotate(`${verdict}; ${rcaText}; ${detection.alerts.length} alert(s)`, 'chaos');
}

/** Skips an assertion for an invalid or aborted experiment and fails it for a harness error. */
function checkRunnable(
  context: TestContext,
  record: ExperimentRecord | undefined,
): ExperimentRecord {
  if (!record)
    throw new Error('The experiment did not run: its beforeAll hook failed before it started.');
  if (record.status === 'invalid' || record.status === 'aborted')
    context.skip(`${record.status}: ${record.reason ?? ''}`);
  if (record.status === 'error')
    throw new Error(`The harness failed: ${record.reason ?? 'unknown error'}`);
  return record;
}

/**
 * Declares an experiment as a `describe` block. beforeAll: steady-state gate, requirements,
 * injection, manifestation gate, detection window (with abort conditions), correlation and
 * RCA. The tests assert the hypothesis. afterAll: rollback (always), recovery, cooldown, and
 * the final record in the block's meta under `chaos`. Experiments given as input are
 * validated with the catalog schema first.
 */
export function describeExperiment(
  experiment: Experiment | ExperimentInput,
  options: ExperimentOptions = {},
): void {
  const parsed = 'blastRadius' in experiment ? experiment : defineExperiment(experiment);
  const campaign = options.campaign ?? campaignFromGlobalSetup();
  describe(`${parsed.id}: ${parsed.name}`, () => {
    let run: ExperimentRun | undefined;
    beforeAll(
      // Vitest requires a destructuring pattern as the first argument of a hook.
      // eslint-disable-next-line no-empty-pattern
      async ({}, suite) => {
        let context;
        try {
          context = resolveContext(
            options,
            campaign,
            {
              blastMs: parsed.blastRadius.durationMs,
              detectionMs: parsed.measurement.detectionTimeoutMs,
            },
            `${parsed.id} ${parsed.name}`,
          );
        } catch (error) {
          // The reporter still gets a record, so the experiment shows up as a harness error.
          const record = createExperimentRecord(parsed, campaign?.stack.version);
          record.reason = error instanceof Error ? error.message : String(error);
          suite.meta.chaos = record;
          throw error;
        }
        run = new ExperimentRun(parsed, context, options);
        suite.meta.chaos = run.record;
        await run.start();
      },
      hookTimeoutMs(parsed, options, campaign),
    );

    afterAll(
      // Vitest requires a destructuring pattern as the first argument of a hook.
      // eslint-disable-next-line no-empty-pattern
      async ({}, suite) => {
        if (!run) return;
        const record = await run.finish();
        // A plain copy: the meta travels to the main process as JSON.
        suite.meta.chaos = structuredClone(record);
      },
      finishTimeoutMs(options, campaign),
    );

    declareAssertions(parsed, () => run?.record);
  });
}

function declareAssertions(
  experiment: Experiment,
  getRecord: () => ExperimentRecord | undefined,
): void {
  const { expect: expected } = experiment.hypothesis;
  it(expected.detected ? 'raises an alert' : 'stays silent', async (context) => {
    const record = checkRunnable(context, getRecord());
    await annotateVerdict(context, record);
    if (expected.detected) expect(record).toBeDetected();
    else expect(record).not.toBeDetected();
  });
  if (expected.detected && expected.mttdMaxMs !== undefined) {
    const boundMs = expected.mttdMaxMs;
    it(`detects within ${formatDuration(boundMs)}`, async (context) => {
      const record = checkRunnable(context, getRecord());
      await context.annotate(
        `MTTD ${record.detection.mttdMs === undefined ? 'none' : formatDuration(record.detection.mttdMs)} (bound ${formatDuration(boundMs)})`,
        'chaos',
      );
      expect(record).toBeDetectedWithin(boundMs);
    });
  }
  const { rootService, alsoCorrect, mustNotPick } = experiment.groundTruth;
  if (expected.detected && expected.rca !== undefined) {
    it(`names ${expected.rca} as root cause`, async (context) => {
      const record = checkRunnable(context, getRecord());
      await context.annotate(`RCA answer: ${record.rca?.rootService ?? 'none'}`, 'chaos');
      expect(record).toHaveRootCause([rootService, ...alsoCorrect]);
    });
  }
  if (expected.detected && mustNotPick.length > 0) {
    it(`does not blame ${mustNotPick.join(' or ')}`, async (context) => {
      const record = checkRunnable(context, getRecord());
      expect(record).not.toHaveRootCause(mustNotPick);
    });
  }
}
