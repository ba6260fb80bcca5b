import { randomUUID } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startStack } from '../../fixtures/stack/index.ts';
import type { CampaignContext } from '../harness/campaign.ts';
import type { ChaosConfig } from '../harness/config.ts';
import { startToxiproxyServer } from '../harness/drivers/toxiproxy/server.ts';
import { createLogger } from '../harness/log.ts';
import { captureBaseline, saveBaseline } from '../harness/steady/baseline.ts';
import { waitForSteadyState } from '../harness/steady/gate.ts';
import { startProbe } from '../harness/steady/probe.ts';
import { createMetricsSampler } from '../harness/steady/sampler.ts';
import { stackInfoSchema, type StackInfo } from '../harness/stack-info.ts';
import { startReadyChild } from './child.ts';
import { startWatchdog, type WatchdogState } from './watchdog.ts';

const log = createLogger('campaign');
const PIPELINE_ENTRY = fileURLToPath(new URL('../../fixtures/pipeline/main.ts', import.meta.url));
const DEFAULT_DRIVERS = fileURLToPath(new URL('../harness/drivers/defaults.ts', import.meta.url));
const START_TIMEOUT_MS = 60_000;
/** The stack must look steady within this bound before the baseline is captured. */
const WARM_UP_TIMEOUT_MS = 60_000;

/** A running campaign: everything the experiments need, and how to stop it. */
export interface Campaign extends AsyncDisposable {
  context: CampaignContext;
  stop(): Promise<void>;
}

type Stopper = () => Promise<void>;

/** Stops what was started, newest first, and keeps going when one step fails. */
async function runStoppers(stoppers: Stopper[]): Promise<void> {
  for (const stop of stoppers.reverse()) {
    await stop().catch((error: unknown) => log('stopping failed: %O', error));
  }
}

/**
 * Starts a campaign: Toxiproxy and the embedded stack (unless the config names a stack file),
 * the reference pipeline (unless `pipelineUrl` names another), the synthetic probe, and a
 * watchdog that cleans up if this process dies. Then waits for steady state and captures the
 * baseline.
 */
export async function startCampaign(
  config: ChaosConfig,
  progress: (text: string) => void,
): Promise<Campaign> {
  const runId = `${Date.now().toString(36)}-${randomUUID().slice(0, 8)}`;
  const runDir = resolve('.chaos', 'runs', runId);
  mkdirSync(runDir, { recursive: true });
  mkdirSync(config.resultsDir, { recursive: true });
  const driverModules = [DEFAULT_DRIVERS, ...config.driverModules];
  const watchdogState: WatchdogState = {
    parentPid: process.pid,
    runId,
    journalDir: config.journalDir,
    driverModules,
    pids: [],
  };
  const watchdog = startWatchdog(join(runDir, 'watchdog.json'), watchdogState);
  const stoppers: Stopper[] = [async () => rmSync(runDir, { recursive: true, force: true })];
  stoppers.push(() => watchdog.disarm());
  const track = (pid: number): void => {
    watchdogState.pids.push(pid);
    watchdog.update(watchdogState);
  };

  try {
    const stack = await startTargetStack(config, runDir, stoppers, track, watchdog, watchdogState);
    const pipelineUrl = await startPipelineUnlessGiven(config, stack, runDir, stoppers, track);
    const probeLogFile = join(config.resultsDir, 'probe.log');
    rmSync(probeLogFile, { force: true });
    const probe = startProbe({
      url: stack.probeUrl,
      intervalMs: config.profile.probeIntervalMs,
      logFile: probeLogFile,
    });
    stoppers.push(() => probe.stop());
    const baselineFile = await warmUpAndCaptureBaseline(config, stack, probe, progress);
    const context: CampaignContext = {
      stack,
      pipelineUrl,
      probeLogFile,
      resultsDir: config.resultsDir,
      baselineFile,
      profile: config.profile,
      runId,
      journalDir: config.journalDir,
      cooldownMode: config.cooldownMode,
      pipeline: { timeoutMs: config.pipeline.timeoutMs, fieldMap: config.pipeline.fieldMap },
      driverModules,
    };
    let stopped: Promise<void> | undefined;
    const stop = () => (stopped ??= runStoppers(stoppers));
    return { context, stop, [Symbol.asyncDispose]: stop };
  } catch (error) {
    await runStoppers(stoppers);
    throw error;
  }
}

async function startTargetStack(
  config: ChaosConfig,
  runDir: string,
  stoppers: Stopper[],
  track: (pid: number) => void,
  watchdog: ReturnType<typeof startWatchdog>,
  watchdogState: WatchdogState,
): Promise<StackInfo> {
  if (config.stackFile) {
    log('using the stack described in %s', config.stackFile);
    return stackInfoSchema.parse(JSON.parse(readFileSync(config.stackFile, 'utf8')));
  }
  if (config.target === 'docker') {
    const { startDockerStack } = await import('./docker-stack.ts');
    const stack = await startDockerStack(runDir);
    track(stack.toxiproxyPid);
    watchdogState.compose = stack.compose;
    watchdog.update(watchdogState);
    stoppers.push(() => stack.stop());
    return stack.info;
  }
  const toxiproxy = await startToxiproxyServer();
  track(toxiproxy.pid);
  stoppers.push(() => toxiproxy.stop());
  const stateDir = join(runDir, 'stack');
  watchdogState.stackStateDir = stateDir;
  watchdog.update(watchdogState);
  const stack = await startStack({ toxiproxyUrl: toxiproxy.url, stateDir });
  const supervisorPid = stack.info.services.length > 0 ? readSupervisorPid(stateDir) : undefined;
  if (supervisorPid) track(supervisorPid);
  stoppers.push(() => stack.stop());
  return stack.info;
}

function readSupervisorPid(stateDir: string): number | undefined {
  try {
    return (
      Number(readFileSync(join(stateDir, 'pids', 'supervisor.pid'), 'utf8').trim()) || undefined
    );
  } catch {
    return undefined;
  }
}

async function startPipelineUnlessGiven(
  config: ChaosConfig,
  stack: StackInfo,
  runDir: string,
  stoppers: Stopper[],
  track: (pid: number) => void,
): Promise<string> {
  if (config.pipelineUrl) {
    log('using the pipeline at %s', config.pipelineUrl);
    return config.pipelineUrl;
  }
  const stackFile = join(runDir, 'stack.json');
  const { writeFileSync } = await import('node:fs');
  writeFileSync(stackFile, JSON.stringify(stack));
  const pipeline = await startReadyChild<{ url: string }>(
    'reference pipeline',
    PIPELINE_ENTRY,
    ['--stack', stackFile, '--port', '0'],
    { cwd: process.cwd(), timeoutMs: START_TIMEOUT_MS },
  );
  track(pipeline.pid);
  stoppers.push(() => pipeline.stop());
  log('reference pipeline at %s (pid %d)', pipeline.ready.url, pipeline.pid);
  return pipeline.ready.url;
}

async function warmUpAndCaptureBaseline(
  config: ChaosConfig,
  stack: StackInfo,
  probe: ReturnType<typeof startProbe>,
  progress: (text: string) => void,
): Promise<string> {
  const sampler = createMetricsSampler({ stack });
  const windowMs = config.profile.steadyStateWindowMs;
  const steady = await waitForSteadyState({
    probe,
    sampler,
    windowMs,
    timeoutMs: windowMs + WARM_UP_TIMEOUT_MS,
    onProgress: progress,
  });
  if (!steady.steady) {
    throw new Error(
      `The stack did not reach steady state before the campaign: ${steady.reason}. ` +
        'Check the stack with `npm run stack` and DEBUG=chaos:*.',
    );
  }
  const baseline = await captureBaseline({
    source: { kind: 'scrape', stack },
    durationMs: config.profile.baselineCaptureMs,
    intervalMs: 1_000,
    onProgress: progress,
  });
  const baselineFile = join(config.resultsDir, 'baseline.json');
  saveBaseline(baselineFile, baseline);
  return baselineFile;
}
