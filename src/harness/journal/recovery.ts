import { DriverError } from '../errors.ts';
import { getDriver, listDrivers, loadDriverModule } from '../faults/registry.ts';
import { createLogger } from '../log.ts';
import { isOwnerAlive, Journal, type JournalEntry, type UnreadableEntry } from './journal.ts';

const log = createLogger('journal');

/** Selection of the entries `recoverJournal` rolls back. */
export type RecoveryScope =
  /** Entries whose runner process is gone: what a crashed run left (the default). */
  | 'orphaned'
  /** Every entry, of any runner: `vitest-chaos cleanup`. */
  | 'all'
  /** Entries of one run, including those of live workers: a run stopped by a signal. */
  | { runId: string };

export interface RecoveryOptions {
  /** Journal folder; default `.chaos/journal`. */
  dir?: string;
  scope?: RecoveryScope;
  /** Modules that register drivers, imported before any rollback (built-in drivers, config). */
  driverModules?: string[];
}

export interface RecoveryResult {
  rolledBack: JournalEntry[];
  failed: { entry: JournalEntry; error: Error }[];
  /** Entries left alone because their runner still runs, outside the scope. */
  skipped: JournalEntry[];
  unreadable: UnreadableEntry[];
}

function inScope(entry: JournalEntry, scope: RecoveryScope): boolean {
  if (scope === 'all') return true;
  if (scope === 'orphaned') return !isOwnerAlive(entry);
  return entry.runId === scope.runId;
}

/**
 * Rolls back journal entries, by default those left by a crashed run (the runner pid is dead).
 * Call it at the start of every run, before any fault is injected. Each entry's driver is found
 * in the registry, after importing `driverModules` and the module recorded in the entry. An
 * entry is removed only after its rollback succeeded. Rollback failures are returned, not thrown;
 * an unreadable journal folder throws a `JournalError`.
 */
export async function recoverJournal(options: RecoveryOptions = {}): Promise<RecoveryResult> {
  const journal = new Journal(options.dir);
  const { entries, unreadable } = await journal.list();
  const result: RecoveryResult = { rolledBack: [], failed: [], skipped: [], unreadable };
  const scope = options.scope ?? 'orphaned';
  const selected = entries.filter((entry) => inScope(entry, scope));
  result.skipped = entries.filter((entry) => !selected.includes(entry));
  if (selected.length === 0) return result;

  for (const specifier of options.driverModules ?? []) await loadDriverModule(specifier);
  for (const entry of selected) {
    try {
      await rollbackEntry(entry, journal);
      result.rolledBack.push(entry);
    } catch (error) {
      result.failed.push({
        entry,
        error: error instanceof Error ? error : new Error(String(error)),
      });
    }
  }
  log(
    'recovery in %s: %d rolled back, %d failed, %d skipped',
    journal.dir,
    result.rolledBack.length,
    result.failed.length,
    result.skipped.length,
  );
  return result;
}

/** Rolls back one journal entry with its driver and removes it. */
export async function rollbackEntry(entry: JournalEntry, journal: Journal): Promise<void> {
  const { plan } = entry;
  if (!getDriver(plan.driver) && entry.driverModule) await loadDriverModule(entry.driverModule);
  const driver = getDriver(plan.driver);
  if (!driver) {
    throw new DriverError(
      `Journal entry ${entry.id} needs driver "${plan.driver}", which is not registered.`,
      {
        driver: plan.driver,
        code: 'DRIVER_NOT_FOUND',
        value: entry.id,
        fix: `Registered drivers: ${listDrivers().join(', ') || 'none'}. Add the module that registers it to driverModules in chaos.config.json.`,
      },
    );
  }
  log(
    'recovering entry %s: %s on %s (driver %s, runner pid %d)',
    entry.id,
    plan.faultType,
    plan.target,
    plan.driver,
    entry.pid,
  );
  try {
    await driver.rollback(plan, { stack: entry.stack, experimentKey: entry.experimentKey });
  } catch (error) {
    throw new DriverError(
      `Rolling back journal entry ${entry.id} (${plan.faultType} on ${plan.target}) failed.`,
      {
        driver: plan.driver,
        value: entry.id,
        fix: 'Fix the cause and run "npx vitest-chaos cleanup" again.',
        cause: error,
      },
    );
  }
  await journal.remove(entry.id);
}
