import { existsSync } from 'node:fs';
import type { TestProject } from 'vitest/node';
import { CAMPAIGN_KEY } from '../harness/campaign.ts';
import { loadConfig } from '../harness/config.ts';
import { loadCatalog } from '../harness/experiment/catalog.ts';
import { recoverJournal } from '../harness/journal/recovery.ts';
import { createLogger } from '../harness/log.ts';
import { createProgressReporter } from '../harness/steady/progress.ts';
import { readReporterSettings } from '../reporters/config.ts';
import { startCampaign } from './start.ts';

const log = createLogger('campaign');

/**
 * Global setup of the chaos project: rolls back faults a crashed run left, starts the campaign
 * (stack, pipeline, probe, baseline) and hands its context to the experiment suites. Vitest
 * does not run this teardown on Ctrl-C or SIGTERM; the campaign's watchdog cleans up then.
 */
export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const config = loadConfig();
  // The reporter reads its settings (gate bounds, results folder) when the first record
  // arrives. Reading them here too stops the run on an invalid value before any injection.
  readReporterSettings(process.env, project.vitest.config.root);
  const progress = createProgressReporter(process.stderr);
  const recovered = await recoverJournal({
    dir: config.journalDir,
    driverModules: [new URL('../harness/drivers/defaults.ts', import.meta.url).pathname],
  });
  if (recovered.rolledBack.length > 0) {
    progress(`rolled back ${recovered.rolledBack.length} fault(s) left by a crashed run`);
  }
  for (const { entry, error } of recovered.failed) {
    progress(`rollback of a fault left by a crashed run failed (${entry.id}): ${error.message}`);
  }
  // The catalog suite validates the file again, but only after the stack and the baseline are
  // up. Validating it here reports a broken file in a second instead of a minute or two. A run
  // of TypeScript experiments alone may have no catalog file, which the catalog suite reports.
  if (existsSync(config.catalog)) loadCatalog(config.catalog);
  progress(`campaign: starting (${config.profile.name} profile)`);
  const campaign = await startCampaign(config, progress);
  log('campaign %s ready', campaign.context.runId);
  progress(`campaign: ready, pipeline at ${campaign.context.pipelineUrl}`);
  project.provide(CAMPAIGN_KEY, campaign.context);
  return async () => {
    progress('campaign: stopping the stack, the pipeline and the probe');
    await campaign.stop();
  };
}
