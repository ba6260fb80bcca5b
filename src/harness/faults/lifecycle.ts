import { DriverError, RequirementError } from '../errors.ts';
import type { Journal, JournalEntry } from '../journal/journal.ts';
import { createLogger } from '../log.ts';
import type { StackInfo } from '../stack-info.ts';
import {
  assertNotStopping,
  trackActiveFault,
  untrackActiveFault,
  whileInjecting,
} from './active.ts';
import type { DriverContext, FaultDriver, FaultPlan, Manifestation } from './driver.ts';
import { driverModuleOf, resolveDriver } from './registry.ts';
import type { Fault } from './spec.ts';

const log = createLogger('fault');

/** Context of `injectFault`, besides the fault and the journal. */
export interface InjectContext {
  stack: StackInfo;
  /** Unique per experiment; drivers put it into toxic, chain and cgroup names. */
  experimentKey: string;
  /** Catalog id of the experiment, written to the journal. */
  experimentId?: string;
  signal?: AbortSignal;
}

/**
 * An injected fault: the only object that can roll a fault back. `rollback()` is idempotent
 * (concurrent and repeated calls share one rollback) and removes the journal entry once the
 * driver's rollback succeeded. `await using` rolls it back at the end of the scope.
 */
export class ActiveFault {
  readonly plan: FaultPlan;
  readonly driverName: string;
  /** Harness time when `apply` returned, unix milliseconds. */
  readonly injectedAtMs: number;
  readonly journalEntryId: string;
  #driver: FaultDriver;
  #context: DriverContext;
  #journal: Journal;
  #rollback: Promise<void> | undefined;
  #rolledBackAtMs: number | undefined;

  constructor(
    driver: FaultDriver,
    plan: FaultPlan,
    context: DriverContext,
    journal: Journal,
    entry: JournalEntry,
  ) {
    this.plan = plan;
    this.driverName = driver.name;
    this.injectedAtMs = Date.now();
    this.journalEntryId = entry.id;
    this.#driver = driver;
    this.#context = context;
    this.#journal = journal;
  }

  /** Harness time when the rollback completed, or undefined while the fault is in place. */
  get rolledBackAtMs(): number | undefined {
    return this.#rolledBackAtMs;
  }

  /** Asks the driver whether the fault took effect. */
  verify(): Promise<Manifestation> {
    return this.#driver.verify(this.plan, this.#context);
  }

  /** Removes the fault; a failed rollback can be retried by calling again. */
  rollback(): Promise<void> {
    this.#rollback ??= this.#runRollback().catch((error: unknown) => {
      this.#rollback = undefined;
      throw error;
    });
    return this.#rollback;
  }

  async #runRollback(): Promise<void> {
    const { plan } = this;
    log(
      'rolling back %s on %s (driver %s, entry %s)',
      plan.faultType,
      plan.target,
      plan.driver,
      this.journalEntryId,
    );
    try {
      await this.#driver.rollback(plan, { ...this.#context, signal: undefined });
    } catch (error) {
      log('rollback of %s on %s failed: %O', plan.faultType, plan.target, error);
      throw new DriverError(`Rolling back the ${plan.faultType} fault on ${plan.target} failed.`, {
        driver: plan.driver,
        value: plan,
        fix: `The journal keeps entry ${this.journalEntryId}; run "npx vitest-chaos cleanup" to retry.`,
        cause: error,
      });
    }
    this.#rolledBackAtMs = Date.now();
    untrackActiveFault(this);
    await this.#journal.remove(this.journalEntryId);
    log('rolled back %s on %s', plan.faultType, plan.target);
  }

  async [Symbol.asyncDispose](): Promise<void> {
    await this.rollback();
  }
}

/**
 * Injects a fault: resolves the driver, checks its requirements (a `RequirementError` carrying
 * each missing item's fix when something is missing), plans, writes the journal entry, applies,
 * and returns the `ActiveFault`. When `apply` fails, the partial fault is rolled back from the
 * plan before the `DriverError` is thrown.
 */
export function injectFault(
  fault: Fault,
  context: InjectContext,
  journal: Journal,
): Promise<ActiveFault> {
  // The whole injection counts as in flight, so a stop at any step waits for it and then rolls
  // back whatever it applied.
  return whileInjecting(() => runInjection(fault, context, journal));
}

async function runInjection(
  fault: Fault,
  context: InjectContext,
  journal: Journal,
): Promise<ActiveFault> {
  const driver = resolveDriver(fault, context.stack);
  const driverContext: DriverContext = {
    stack: context.stack,
    experimentKey: context.experimentKey,
    signal: context.signal,
  };
  const missing = await driver.checkRequirements(fault, driverContext);
  if (missing.length > 0) {
    throw new RequirementError(
      `The ${fault.type} fault on ${fault.target} (driver ${driver.name})`,
      missing,
    );
  }
  const plan = await callDriver(driver, 'plan', fault, () => driver.plan(fault, driverContext));
  // A stop during the steps above ends the injection here, before anything is written or applied.
  assertNotStopping();
  const entry = await journal.write({
    experimentKey: context.experimentKey,
    experimentId: context.experimentId,
    plan,
    driverModule: driverModuleOf(driver.name),
    stack: context.stack,
  });
  log(
    'injecting %s on %s (driver %s, key %s)',
    fault.type,
    fault.target,
    driver.name,
    context.experimentKey,
  );
  try {
    await driver.apply(plan, driverContext);
  } catch (error) {
    log('injecting %s on %s failed: %O', fault.type, fault.target, error);
    await undoPartialApply(driver, plan, driverContext, journal, entry);
    throw new DriverError(`Applying the ${fault.type} fault on ${fault.target} failed.`, {
      driver: driver.name,
      value: plan,
      fix: 'See the cause; the partial fault was rolled back.',
      cause: error,
    });
  }
  const active = new ActiveFault(driver, plan, driverContext, journal, entry);
  trackActiveFault(active);
  log('injected %s on %s (%s, entry %s)', fault.type, fault.target, plan.mechanism, entry.id);
  return active;
}

async function callDriver<T>(
  driver: FaultDriver,
  step: string,
  fault: Fault,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    throw new DriverError(
      `Driver ${driver.name} failed to ${step} the ${fault.type} fault on ${fault.target}.`,
      {
        driver: driver.name,
        value: fault,
        cause: error,
      },
    );
  }
}

async function undoPartialApply(
  driver: FaultDriver,
  plan: FaultPlan,
  context: DriverContext,
  journal: Journal,
  entry: JournalEntry,
): Promise<void> {
  try {
    await driver.rollback(plan, { ...context, signal: undefined });
    await journal.remove(entry.id);
  } catch (error) {
    // The entry stays in the journal, so cleanup or the next run retries the rollback.
    log(
      'rollback after a failed apply of %s failed, entry %s kept: %O',
      plan.faultType,
      entry.id,
      error,
    );
  }
}
