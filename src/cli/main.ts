import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { loadConfig } from '../harness/config.ts';
import { ChaosError } from '../harness/errors.ts';
import { getDriver, loadDriverModule } from '../harness/faults/registry.ts';
import { isOwnerAlive, Journal, type JournalEntry } from '../harness/journal/journal.ts';
import { recoverJournal, type RecoveryScope } from '../harness/journal/recovery.ts';
import {
  compareVerdicts,
  formatComparison,
  readComparedRun,
  ResultsFileError,
} from '../reporters/compare.ts';

const USAGE = `Usage: vitest-chaos <command> [options]

Commands:
  status    list the faults recorded as active in the journal, checked against the real state
  cleanup   roll back every fault in the journal
  compare <first> <second>
            compare the verdicts of two runs (chaos_results.json files or their folders);
            exits 1 when any experiment's verdict differs, 2 when a file is
            missing or invalid

Options:
  --journal <dir>        status, cleanup: journal folder (default: journalDir of
                         chaos.config.json, or .chaos/journal)
  --run <id>             cleanup: only the faults of this run id
  --driver-module <m>    status, cleanup: a module that registers drivers; repeatable
  --json                 status, compare: print JSON
  -h, --help             show this help
`;

/** Options each command reads; any other option given to it is rejected. */
const COMMAND_OPTIONS: Record<string, readonly string[]> = {
  status: ['journal', 'driver-module', 'json'],
  cleanup: ['journal', 'run', 'driver-module'],
  compare: ['json'],
};

/** Returns an error message for the first option the command does not read, if any. */
function unusedOption(command: string, options: Record<string, unknown>): string | undefined {
  if (!Object.hasOwn(COMMAND_OPTIONS, command)) return undefined;
  const allowed = COMMAND_OPTIONS[command]!;
  for (const [name, value] of Object.entries(options)) {
    if (value === undefined || value === false || name === 'help' || allowed.includes(name))
      continue;
    const readers = Object.keys(COMMAND_OPTIONS).filter((other) =>
      COMMAND_OPTIONS[other]!.includes(name),
    );
    return `Option --${name} does not apply to ${command}; only ${readers.join(' and ')} ${readers.length === 1 ? 'reads' : 'read'} it. Remove it.`;
  }
  return undefined;
}

/** Built-in drivers, loaded when present so that recovery finds them without config. */
const BUILT_IN_DRIVERS = fileURLToPath(new URL('../harness/drivers/defaults.ts', import.meta.url));

async function loadDrivers(modules: string[]): Promise<void> {
  const all = existsSync(BUILT_IN_DRIVERS) ? [BUILT_IN_DRIVERS, ...modules] : modules;
  for (const module of all) {
    const failure = await loadDriverModule(module);
    if (failure) console.error(`warning: loading driver module ${module} failed: ${failure}`);
  }
}

async function stateOf(entry: JournalEntry): Promise<string> {
  if (!getDriver(entry.plan.driver) && entry.driverModule)
    await loadDriverModule(entry.driverModule);
  const driver = getDriver(entry.plan.driver);
  if (!driver) return 'unknown (driver not registered)';
  if (!driver.inspect) return 'unknown (driver cannot inspect)';
  try {
    return await driver.inspect(entry.plan);
  } catch (error) {
    return `unknown (inspect failed: ${error instanceof Error ? error.message : String(error)})`;
  }
}

async function status(journalDir: string, json: boolean, driverModules: string[]): Promise<number> {
  await loadDrivers(driverModules);
  const { entries, unreadable } = await new Journal(journalDir).list();
  const rows = [];
  for (const entry of entries) {
    rows.push({
      id: entry.id,
      fault: entry.plan.faultType,
      target: entry.plan.target,
      driver: entry.plan.driver,
      mechanism: entry.plan.mechanism,
      runId: entry.runId,
      runnerPid: entry.pid,
      runnerAlive: isOwnerAlive(entry),
      injectedAt: new Date(entry.createdAtMs).toISOString(),
      state: await stateOf(entry),
    });
  }
  if (json) {
    console.log(JSON.stringify({ journalDir, faults: rows, unreadable }, null, 2));
    return 0;
  }
  if (rows.length === 0) console.log(`No active faults in ${journalDir}.`);
  for (const row of rows) {
    const runner = `runner pid ${row.runnerPid} ${row.runnerAlive ? 'running' : 'gone'}`;
    console.log(
      `${row.id}  ${row.fault} on ${row.target} via ${row.driver} (${row.mechanism}), since ${row.injectedAt}, ${runner}, state: ${row.state}`,
    );
  }
  for (const file of unreadable) console.log(`unreadable journal file ${file.file}: ${file.error}`);
  return 0;
}

async function cleanup(
  journalDir: string,
  scope: RecoveryScope,
  driverModules: string[],
): Promise<number> {
  await loadDrivers(driverModules);
  const result = await recoverJournal({ dir: journalDir, scope });
  for (const entry of result.rolledBack) {
    console.log(`rolled back ${entry.plan.faultType} on ${entry.plan.target} (${entry.id})`);
    // Rolling back a fault under a run still in progress is allowed, as an emergency stop.
    if (isOwnerAlive(entry))
      console.error(
        `warning: ${entry.id} belonged to run ${entry.runId}, whose process ${entry.pid} is still running: it now runs without its fault. Pass --run <id> to limit cleanup to one run.`,
      );
  }
  for (const { entry, error } of result.failed)
    console.error(`failed to roll back ${entry.id}: ${error.message}`);
  for (const file of result.unreadable)
    console.error(`unreadable journal file ${file.file}: ${file.error}`);
  if (result.rolledBack.length === 0 && result.failed.length === 0)
    console.log(`Nothing to roll back in ${journalDir}.`);
  return result.failed.length > 0 || result.unreadable.length > 0 ? 1 : 0;
}

async function compare(paths: string[], json: boolean): Promise<number> {
  if (paths.length !== 2) {
    console.error(`compare needs two results files, received ${paths.length}.\n\n${USAGE}`);
    return 2;
  }
  try {
    const first = await readComparedRun(paths[0]!);
    const second = await readComparedRun(paths[1]!);
    const comparison = compareVerdicts(first.outcomes, second.outcomes);
    if (comparison.total === 0) {
      console.error(
        `Neither ${first.path} nor ${second.path} has any experiment to compare. Pass the results of runs that ran experiments.`,
      );
      return 2;
    }
    if (json)
      console.log(
        JSON.stringify({ first: first.path, second: second.path, ...comparison }, null, 2),
      );
    else console.log(formatComparison(first, second, comparison));
    return comparison.same === comparison.total ? 0 : 1;
  } catch (error) {
    if (!(error instanceof ResultsFileError)) throw error;
    console.error(error.message);
    return 2;
  }
}

/** Runs the CLI with the arguments after the command name; returns the exit code. */
export async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        journal: { type: 'string' },
        run: { type: 'string' },
        'driver-module': { type: 'string', multiple: true },
        json: { type: 'boolean', default: false },
        help: { type: 'boolean', short: 'h', default: false },
      },
    });
  } catch (error) {
    console.error(`${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  const [command] = parsed.positionals;
  if (parsed.values.help || command === undefined) {
    console.log(USAGE);
    return command === undefined && !parsed.values.help ? 2 : 0;
  }
  if (parsed.values.run === '') {
    console.error('Invalid --run: it is empty. Pass a run id (see `vitest-chaos status`).');
    return 2;
  }
  const unused = unusedOption(command, parsed.values);
  if (unused) {
    console.error(`${unused}\n\n${USAGE}`);
    return 2;
  }
  if (command === 'compare') return compare(parsed.positionals.slice(1), parsed.values.json);
  let config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ChaosError)) throw error;
    const cause = error.cause instanceof Error ? ` (${error.cause.message})` : '';
    console.error(`${error.message}${cause}`);
    return 2;
  }
  const journalDir = parsed.values.journal ?? config.journalDir;
  const driverModules = [...config.driverModules, ...(parsed.values['driver-module'] ?? [])];
  if (command === 'status') return status(journalDir, parsed.values.json, driverModules);
  if (command === 'cleanup')
    return cleanup(
      journalDir,
      parsed.values.run ? { runId: parsed.values.run } : 'all',
      driverModules,
    );
  console.error(`Unknown command "${command}".\n\n${USAGE}`);
  return 2;
}
