import { inject, test } from 'vitest';
import { CAMPAIGN_KEY, type CampaignContext } from '../campaign.ts';
import { createPipelineClient, type PipelineClient } from '../pipeline/client.ts';
import type { StackInfo } from '../stack-info.ts';
import { createProbeLogReader, type ProbeReader } from '../steady/probe-log.ts';

/** Fixtures of a chaos test: the campaign from globalSetup, its stack, pipeline client and probe. */
export interface ChaosFixtures {
  campaign: CampaignContext;
  stack: StackInfo;
  pipeline: PipelineClient;
  probe: ProbeReader;
}

/**
 * `test` with the chaos fixtures, for tests outside `describeExperiment`:
 * `chaosTest('checkout answers', async ({ stack, pipeline, probe }) => { ... })`.
 */
export const chaosTest = test.extend<ChaosFixtures>({
  // Vitest requires a destructuring pattern as the first argument of a fixture.
  // eslint-disable-next-line no-empty-pattern
  campaign: async ({}, use) => {
    const campaign = inject(CAMPAIGN_KEY);
    if (!campaign)
      throw new Error(
        `No campaign provided under "${CAMPAIGN_KEY}": run the chaos project with its globalSetup.`,
      );
    await use(campaign);
  },
  stack: async ({ campaign }, use) => use(campaign.stack),
  pipeline: async ({ campaign }, use) =>
    use(
      createPipelineClient({
        baseUrl: campaign.pipelineUrl,
        timeoutMs: campaign.pipeline?.timeoutMs,
        fieldMap: campaign.pipeline?.fieldMap,
      }),
    ),
  probe: async ({ campaign }, use) => use(createProbeLogReader(campaign.probeLogFile)),
});
