import type { ProfileSettings } from './config.ts';
import type { StackInfo } from './stack-info.ts';

/**
 * The campaign that globalSetup hands to the test workers with
 * `project.provide(CAMPAIGN_KEY, context)`; tests read it with `inject(CAMPAIGN_KEY)`. It must
 * be JSON, because workers are other processes.
 */
export interface CampaignContext {
  stack: StackInfo;
  /** Base URL of the pipeline under test. */
  pipelineUrl: string;
  /** The probe log written by the probe running in globalSetup. */
  probeLogFile: string;
  resultsDir: string;
  /** Saved baseline (metric statistics), when one was captured. */
  baselineFile?: string;
  profile: ProfileSettings;
  /** Unique per campaign, written into every journal entry. */
  runId: string;
  journalDir: string;
  /** Mode of the cooldown between experiments; default adaptive. */
  cooldownMode?: 'adaptive' | 'fixed';
  /** Pipeline client settings from the config. */
  pipeline?: { timeoutMs?: number; fieldMap?: Record<string, Record<string, string>> };
  /** Modules that register drivers, imported by the workers before the first fault. */
  driverModules?: string[];
}

/** The key under which globalSetup provides the `CampaignContext`. */
export const CAMPAIGN_KEY = 'chaosCampaign';

declare module 'vitest' {
  export interface ProvidedContext {
    chaosCampaign: CampaignContext;
  }
}
