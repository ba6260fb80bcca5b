import type { CampaignContext } from '../campaign.ts';
import { PROFILES, scaleFaultDurationMs, type ProfileSettings } from '../config.ts';
import type { Manifestation } from '../faults/driver.ts';
import type { ActiveFault } from '../faults/lifecycle.ts';
import { Journal } from '../journal/journal.ts';
import { createPipelineClient, type PipelineClient } from '../pipeline/client.ts';
import type { StackInfo } from '../stack-info.ts';
import { loadBaseline, type Baseline } from '../steady/baseline.ts';
import { createProbeLogReader, type ProbeReader } from '../steady/probe-log.ts';
import { createProgressReporter } from '../steady/progress.ts';
import { createMetricsSampler, type MetricsSampler } from '../steady/sampler.ts';
import type { SteadyFunctions } from './steady-adapter.ts';

/** Options of `describeExperiment`; every field has a default from the campaign context. */
export interface ExperimentOptions {
  /** The campaign; default `inject(CAMPAIGN_KEY)` from globalSetup. */
  campaign?: CampaignContext;
  /** Stack to inject into; default `campaign.stack`. */
  stack?: StackInfo;
  /** Pipeline client; default a client of `campaign.pipelineUrl`. */
  pipeline?: PipelineClient;
  /** Probe pass rates; default the campaign's probe log. `false` runs without a probe. */
  probe?: ProbeReader | false;
  /** Metrics for conditions and the gates; default a sampler of the stack. `false` for none. */
  sampler?: MetricsSampler | false;
  journal?: Journal;
  /** Replaces steady-state functions (gate, recovery, cooldown). */
  steady?: Partial<SteadyFunctions>;
  /** Steady-state gate before injection; `false` skips it. Defaults from the profile. */
  steadyState?: false | { windowMs?: number; timeoutMs?: number; minPassRate?: number };
  /** Recovery measurement after rollback; `false` skips it. */
  recovery?: false | { windowMs?: number; timeoutMs?: number };
  /** Cooldown after the experiment; `false` skips it. */
  cooldown?: false | { mode?: 'adaptive' | 'fixed'; maxMs?: number; quietMs?: number };
  /** Manifestation gate: how long to wait for the fault to take effect (default 10000 ms). */
  manifestation?: {
    timeoutMs?: number;
    intervalMs?: number;
    /** An extra check, for example a probe or metric deviation; both must pass when given. */
    check?: (fault: ActiveFault) => Promise<Manifestation>;
  };
  /** How long the fault holds, in ms; default the profile-scaled blast radius duration. */
  faultDurationMs?: number;
  /** Detection window, in ms; default the profile-scaled detection timeout. */
  detectionWindowMs?: number;
  /** Interval of `/alerts` polls and condition checks; default 1000 ms. */
  pollIntervalMs?: number;
  /** Timeout of the beforeAll and afterAll hooks in ms; default derived from the windows. */
  hookTimeoutMs?: number;
  onProgress?: (text: string) => void;
}

/** Everything one experiment run uses, resolved from the options and the campaign. */
export interface ResolvedContext {
  stack: StackInfo;
  pipeline: PipelineClient;
  probe: ProbeReader | undefined;
  sampler: MetricsSampler | undefined;
  /** Metric statistics captured before the campaign, when globalSetup saved them. */
  baseline: Baseline | undefined;
  journal: Journal;
  profile: ProfileSettings;
  faultDurationMs: number;
  detectionWindowMs: number;
  pollIntervalMs: number;
  progress: (text: string) => void;
  campaign: CampaignContext | undefined;
}

/** Resolves options against the campaign; throws when neither gives a stack or a pipeline. */
export function resolveContext(
  options: ExperimentOptions,
  campaign: CampaignContext | undefined,
  durations: { blastMs: number; detectionMs: number },
  label = 'experiment',
): ResolvedContext {
  const stack = options.stack ?? campaign?.stack;
  if (!stack)
    throw new Error('No stack: run the chaos project with its globalSetup, or pass options.stack.');
  const pipelineUrl = campaign?.pipelineUrl;
  const pipeline =
    options.pipeline ??
    (pipelineUrl
      ? createPipelineClient({
          baseUrl: pipelineUrl,
          timeoutMs: campaign?.pipeline?.timeoutMs,
          fieldMap: campaign?.pipeline?.fieldMap,
        })
      : undefined);
  if (!pipeline) throw new Error('No pipeline: set CHAOS_PIPELINE_URL, or pass options.pipeline.');
  const profile = campaign?.profile ?? PROFILES.quick;
  const probe =
    options.probe === false
      ? undefined
      : (options.probe ?? (campaign ? createProbeLogReader(campaign.probeLogFile) : undefined));
  const sampler =
    options.sampler === false
      ? undefined
      : (options.sampler ?? (campaign ? createMetricsSampler({ stack }) : undefined));
  const faultDurationMs =
    options.faultDurationMs ?? scaleFaultDurationMs(profile, durations.blastMs);
  return {
    stack,
    pipeline,
    probe,
    sampler,
    baseline: campaign?.baselineFile ? loadBaseline(campaign.baselineFile) : undefined,
    journal: options.journal ?? new Journal(campaign?.journalDir, campaign?.runId),
    profile,
    faultDurationMs,
    detectionWindowMs:
      options.detectionWindowMs ??
      Math.max(faultDurationMs, scaleFaultDurationMs(profile, durations.detectionMs)),
    pollIntervalMs: options.pollIntervalMs ?? 1_000,
    progress: options.onProgress ?? defaultProgress(label),
    campaign,
  };
}

/** Writes rate-limited progress lines to standard error, each prefixed with the experiment. */
export function defaultProgress(label: string): (text: string) => void {
  const report = createProgressReporter(process.stderr);
  return (text) => report(`[${label}] ${text}`);
}
