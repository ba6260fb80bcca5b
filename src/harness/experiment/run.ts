import { setMaxListeners } from 'node:events';
import { randomUUID } from 'node:crypto';
import { isChaosError, RequirementError } from '../errors.ts';
import { injectFault, type ActiveFault } from '../faults/lifecycle.ts';
import { loadDriverModule } from '../faults/registry.ts';
import { createLogger, logLinesSince, logMark } from '../log.ts';
import type { ExperimentRecord } from '../record.ts';
import { analyseWindow, recordDetection } from './analysis.ts';
import type { ExperimentOptions, ResolvedContext } from './context.ts';
import { runDetectionWindow } from './detection.ts';
import { preflightProblems } from './preflight.ts';
import { createExperimentRecord, matchesHypothesis } from './record-builder.ts';
import type { Experiment } from './schema.ts';
import { loadSteadyFunctions, type SteadyFunctions } from './steady-adapter.ts';

const log = createLogger('experiment');

/** Thrown inside a run to end it early with a final status; not an error of the harness. */
/** Creates an abort controller whose signal many pending requests may listen to at once. */
function newController(): AbortController {
  const controller = new AbortController();
  setMaxListeners(0, controller.signal);
  return controller;
}

class EndRun extends Error {
  constructor(
    readonly status: 'invalid' | 'aborted' | 'error',
    readonly reason: string,
  ) {
    super(reason);
  }
}

const errorText = (error: unknown) => (error instanceof Error ? error.message : String(error));

/**
 * One run of an experiment: `start()` is the body of beforeAll (steady state, inject,
 * manifestation, detection window, analysis) and `finish()` the body of afterAll (rollback,
 * recovery, cooldown, final record). `finish()` cancels a `start()` still running.
 */
export class ExperimentRun {
  readonly record: ExperimentRecord;
  readonly experimentKey: string;
  #controller = newController();
  #active: ActiveFault | undefined;
  #started: Promise<void> | undefined;
  #logMark = logMark();
  #steady: Partial<SteadyFunctions> | undefined;

  constructor(
    readonly experiment: Experiment,
    readonly context: ResolvedContext,
    readonly options: ExperimentOptions,
  ) {
    this.record = createExperimentRecord(experiment, context.stack.version);
    this.experimentKey = `${experiment.name}-${randomUUID().slice(0, 8)}`.replace(
      /[^A-Za-z0-9_-]/g,
      '-',
    );
  }

  /** Runs every phase up to the analysis; never throws, the outcome is in the record. */
  start(): Promise<void> {
    this.#started ??= this.#start();
    return this.#started;
  }

  async #start(): Promise<void> {
    this.record.reason = undefined;
    this.record.status = 'completed';
    try {
      for (const module of this.context.campaign?.driverModules ?? [])
        await loadDriverModule(module);
      this.#steady = { ...(await this.#loadSteady()), ...this.options.steady };
      this.#preflight();
      await this.#steadyStateGate();
      const offset = await this.context.pipeline.estimateClockOffset({ samples: 3 });
      this.record.clockOffsetMs = offset?.offsetMs;
      await this.#inject();
      await this.#manifestationGate();
      await this.#detect();
    } catch (error) {
      this.#fail(error);
    }
  }

  async #loadSteady(): Promise<SteadyFunctions | Partial<SteadyFunctions>> {
    const needed =
      this.options.steadyState !== false ||
      this.options.recovery !== false ||
      this.options.cooldown !== false;
    return needed && this.context.probe ? loadSteadyFunctions() : {};
  }

  #fail(error: unknown): void {
    if (error instanceof EndRun) {
      this.record.status = error.status;
      this.record.reason = error.reason;
    } else if (error instanceof RequirementError) {
      this.record.status = 'invalid';
      this.record.reason = error.message;
    } else {
      this.record.status = 'error';
      this.record.reason = isChaosError(error)
        ? `${error.code}: ${error.message}`
        : errorText(error);
    }
    log('experiment %s ended %s: %s', this.experiment.id, this.record.status, this.record.reason);
  }

  /** Rejects a target or condition that does not fit the stack, before anything is injected. */
  #preflight(): void {
    const problems = preflightProblems(this.experiment, this.context.stack);
    if (problems.length > 0)
      throw new EndRun('error', `invalid experiment: ${problems.join('; ')}`);
  }

  #checkCancelled(): void {
    if (this.#controller.signal.aborted)
      throw new Error('cancelled: the beforeAll hook timed out or the run stopped');
  }

  async #steadyStateGate(): Promise<void> {
    const settings = this.options.steadyState;
    if (settings === false || !this.context.probe || !this.#steady?.waitForSteadyState) return;
    const result = await this.#steady.waitForSteadyState({
      probe: this.context.probe,
      sampler: this.context.sampler,
      baseline: this.context.baseline,
      windowMs: settings?.windowMs ?? this.context.profile.steadyStateWindowMs,
      minPassRate: settings?.minPassRate,
      timeoutMs: settings?.timeoutMs ?? 4 * this.context.profile.steadyStateWindowMs,
      onProgress: this.context.progress,
    });
    if (!result.steady)
      throw new EndRun('invalid', `not in steady state before injection: ${result.reason}`);
  }

  async #inject(): Promise<void> {
    this.#checkCancelled();
    const context = {
      stack: this.context.stack,
      experimentKey: this.experimentKey,
      experimentId: this.experiment.id,
      signal: this.#controller.signal,
    };
    this.#active = await injectFault(this.experiment.fault, context, this.context.journal);
    this.record.times.injectedAtMs = this.#active.injectedAtMs;
    this.record.fault.driver = this.#active.driverName;
    this.record.fault.mechanism = this.#active.plan.mechanism;
    // afterAll may have run while apply was in flight; it could not see this fault then.
    if (this.#controller.signal.aborted) await this.#active.rollback();
    this.#checkCancelled();
  }

  async #manifestationGate(): Promise<void> {
    const fault = this.#active;
    if (!fault) return;
    const settings = this.options.manifestation ?? {};
    const deadlineMs = Date.now() + (settings.timeoutMs ?? 10_000);
    let detail = '';
    for (;;) {
      this.#checkCancelled();
      const verified = await fault.verify();
      const extra = verified.manifested && settings.check ? await settings.check(fault) : verified;
      detail = extra === verified ? verified.detail : `${verified.detail}; ${extra.detail}`;
      if (verified.manifested && extra.manifested) break;
      if (Date.now() >= deadlineMs) {
        await fault.rollback();
        throw new EndRun('invalid', `the fault never took effect: ${detail}`);
      }
      await new Promise((resolve) => setTimeout(resolve, settings.intervalMs ?? 500));
    }
    this.record.times.manifestedAtMs = Date.now();
    log('fault manifested on %s: %s', fault.plan.target, detail);
  }

  async #detect(): Promise<void> {
    const fault = this.#active;
    if (!fault) return;
    const offsetMs = this.record.clockOffsetMs ?? 0;
    const conditions = [...this.experiment.abortConditions];
    if (this.experiment.rollback.triggerWhen) conditions.push(this.experiment.rollback.triggerWhen);
    const outcome = await runDetectionWindow({
      context: this.context,
      fault,
      conditions,
      clockOffsetMs: offsetMs,
      signal: this.#controller.signal,
    });
    await fault.rollback();
    this.record.times.rolledBackAtMs = fault.rolledBackAtMs;
    this.record.times.detectionWindowEndMs = outcome.endedAtMs;
    this.record.pipelineErrors.push(...outcome.pipelineErrors);
    recordDetection(this.record, outcome, offsetMs);
    this.#checkCancelled();
    if (outcome.trip) {
      this.record.abort = outcome.trip;
      const values = Object.entries(outcome.trip.values)
        .map(([name, value]) => `${name}=${value}`)
        .join(', ');
      throw new EndRun('aborted', `condition held: ${outcome.trip.condition} (${values})`);
    }
    const window = { startMs: fault.injectedAtMs, endMs: outcome.endedAtMs };
    this.record.pipelineErrors.push(
      ...(await analyseWindow(this.record, this.context, window, offsetMs)),
    );
  }

  /** Rolls back (always), measures recovery, waits the cooldown and completes the record. */
  async finish(): Promise<ExperimentRecord> {
    this.#controller.abort();
    if (this.#started)
      await Promise.race([this.#started, new Promise((resolve) => setTimeout(resolve, 5_000))]);
    try {
      await this.#active?.rollback();
    } catch (error) {
      this.#fail(error);
    }
    if (this.#active) this.record.times.rolledBackAtMs ??= this.#active.rolledBackAtMs;
    await this.#afterRollback().catch((error: unknown) =>
      log('recovery or cooldown failed: %O', error),
    );
    if (this.record.status !== 'completed' || !matchesHypothesis(this.record))
      this.record.logTail = logLinesSince(this.#logMark);
    return this.record;
  }

  async #afterRollback(): Promise<void> {
    const { probe } = this.context;
    const rolledBackAtMs = this.record.times.rolledBackAtMs;
    const injectedAtMs = this.record.times.injectedAtMs;
    if (!probe || injectedAtMs === undefined || rolledBackAtMs === undefined) return;
    this.record.probe.before = probe.passRate(
      injectedAtMs - this.context.profile.steadyStateWindowMs,
      injectedAtMs,
    );
    this.record.probe.during = probe.passRate(injectedAtMs, rolledBackAtMs);
    await this.#measureRecovery(rolledBackAtMs);
    this.record.probe.after = probe.passRate(rolledBackAtMs, Date.now());
    await this.#cooldown();
  }

  async #measureRecovery(sinceMs: number): Promise<void> {
    const settings = this.options.recovery;
    if (settings === false || !this.context.probe || !this.#steady?.measureRecovery) return;
    this.record.recovery = await this.#steady.measureRecovery({
      probe: this.context.probe,
      sampler: this.context.sampler,
      baseline: this.context.baseline,
      sinceMs,
      windowMs: settings?.windowMs ?? this.context.profile.steadyStateWindowMs,
      timeoutMs: settings?.timeoutMs ?? this.context.profile.recoveryTimeoutMs,
      onProgress: this.context.progress,
    });
  }

  async #cooldown(): Promise<void> {
    const settings = this.options.cooldown;
    const probe = this.context.probe;
    if (settings === false || !probe || !this.#steady?.waitCooldown) return;
    const windowMs = this.context.profile.steadyStateWindowMs;
    const { mode, waitedMs } = await this.#steady.waitCooldown({
      mode: settings?.mode ?? this.context.campaign?.cooldownMode ?? 'adaptive',
      maxMs: settings?.maxMs ?? this.context.profile.cooldownMaxMs,
      quietMs: settings?.quietMs ?? Math.min(10_000, windowMs),
      isRecovered: async () => (probe.passRate(Date.now() - windowMs) ?? 0) >= 0.99,
      isPipelineQuiet: async (sinceMs) => {
        const result = await this.context.pipeline.alerts(
          sinceMs + (this.record.clockOffsetMs ?? 0),
        );
        return result.ok && result.value.length === 0;
      },
      onProgress: this.context.progress,
    });
    this.record.cooldown = { mode, waitedMs };
  }
}
