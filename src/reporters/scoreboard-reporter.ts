import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import createDebug from 'debug';
import type {
  Reporter,
  TestCase,
  TestModule,
  TestRunEndReason,
  TestSuite,
  Vitest,
} from 'vitest/node';
import { RecordCollector, type MetaCarrier } from './collector.ts';
import { decideExitCode, formatExitDecision } from './exit-code.ts';
import { readReporterSettings, type ReporterSettings } from './config.ts';
import { renderReport } from './format/report.ts';
import { renderScoreboard } from './format/scoreboard.ts';
import { buildScoredRun, type RunEnvironment, type ScoredRun } from './results/build.ts';
import { CoalescingWriter, writeFileAtomic } from './results/writer.ts';
import { DEFAULT_GATE_THRESHOLDS } from './scoring/gate.ts';

const debug = createDebug('chaos:reporter');

/** File names inside the results folder. */
export const RESULTS_FILE = 'chaos_results.json';
export const REPORT_FILE = 'chaos_report.md';
export const PROBE_LOG_FILE = 'probe.log';

/** Options of ScoreboardReporter; every one has a default, so `new ScoreboardReporter()` works. */
export interface ScoreboardReporterOptions {
  /** Environment to read settings from. Default `process.env`. */
  env?: NodeJS.ProcessEnv;
  /** Sink for the scoreboard. Default Vitest's logger (standard output). */
  output?: (text: string) => void;
  /** Sink for reporter errors. Default Vitest's logger (standard error). */
  errorOutput?: (text: string) => void;
  /** Wall clock in unix ms, for `updatedAtMs`. Default `Date.now`. */
  now?: () => number;
  /** Minimum time between two rewrites of the results file, in ms. Default 250. */
  minWriteIntervalMs?: number;
  /** Read records only from tasks of these Vitest projects. Default: every project. */
  projects?: readonly string[];
}

/**
 * Vitest reporter that collects the chaos records stored in task meta, rewrites
 * `chaos_results.json` as each experiment ends, and at the end of the run prints the scoreboard,
 * writes `chaos_report.md` and applies the acceptance gate. Prints nothing and leaves the exit
 * code alone when the run contains no chaos record.
 */
export class ScoreboardReporter implements Reporter {
  readonly #options: ScoreboardReporterOptions;
  readonly #collector = new RecordCollector();
  readonly #failedHooks = new Set<string>();
  readonly #warnedTasks = new Set<string>();
  #vitest: Vitest | undefined;
  #settings: ReporterSettings | undefined;
  #environment: RunEnvironment | undefined;
  #writer: CoalescingWriter;
  #lastHook = 'onInit';

  constructor(options: ScoreboardReporterOptions = {}) {
    this.#options = options;
    this.#writer = this.#createWriter();
  }

  onInit(vitest: Vitest): void {
    // Settings are read when the first record arrives, so runs without records never fail on them.
    this.#vitest = vitest;
  }

  onTestRunStart(): void {
    this.#guard('onTestRunStart', () => {
      this.#collector.clear();
      this.#warnedTasks.clear();
      this.#writer.cancel();
      this.#writer = this.#createWriter();
    });
  }

  onTestCaseResult(testCase: TestCase): void {
    this.#guard('onTestCaseResult', () => this.#collect([testCase], 'onTestCaseResult'));
  }

  onTestSuiteResult(testSuite: TestSuite): void {
    this.#guard('onTestSuiteResult', () => this.#collect([testSuite], 'onTestSuiteResult'));
  }

  onTestModuleEnd(testModule: TestModule): void {
    this.#guard('onTestModuleEnd', () => this.#collect(tasksOf(testModule), 'onTestModuleEnd'));
  }

  async onTestRunEnd(
    testModules: ReadonlyArray<TestModule>,
    unhandledErrors: ReadonlyArray<unknown>,
    reason: TestRunEndReason,
  ): Promise<void> {
    // Let reporters listed earlier (Vitest's own summary) print first.
    await new Promise((resolve) => setImmediate(resolve));
    this.#guard('onTestRunEnd', () => this.#collect(testModules.flatMap(tasksOf), 'onTestRunEnd'));
    if (!this.#collector.isEmpty) {
      const gatePassed = this.#finishRun(reason);
      this.#guard('onTestRunEnd', () => {
        const decision = decideExitCode({ testModules, unhandledErrors, reason, gatePassed });
        this.#print(formatExitDecision(decision));
        process.exitCode = decision.exitCode;
      });
    }
    if (this.#failedHooks.size > 0) process.exitCode = 1;
  }

  /**
   * Scores, prints, writes the files and applies the gate; each step fails on its own. Returns
   * whether the gate passed (true when it is off).
   */
  #finishRun(reason: TestRunEndReason): boolean {
    // The final write below replaces any deferred one.
    this.#writer.cancel();
    let run: ScoredRun | undefined;
    this.#guard('onTestRunEnd', () => {
      run = this.#score(reason);
      const { resultsDir } = this.#settingsFor('onTestRunEnd');
      const interrupted =
        reason === 'interrupted'
          ? 'Run interrupted: experiments that did not finish are missing.\n'
          : '';
      this.#print(`${renderScoreboard(run.score, run.gate)}${interrupted}Results: ${resultsDir}\n`);
    });
    if (run === undefined) return false;
    const scored = run;
    this.#guard('onTestRunEnd', () => this.#writeFiles(scored));
    return scored.gate.mode === 'off' || scored.gate.result.passed;
  }

  #collect(tasks: readonly MetaCarrier[], hook: string): void {
    let changed = false;
    for (const task of tasks) {
      if (!this.#isSelected(task)) continue;
      const result = this.#collector.add(task);
      if (result === 'added') changed = true;
      if (result === 'invalid') this.#warnInvalid(hook);
    }
    if (changed) {
      this.#settingsFor(hook);
      this.#lastHook = hook;
      this.#writer.update();
    }
  }

  #isSelected(task: MetaCarrier): boolean {
    const projects = this.#options.projects;
    if (projects === undefined) return true;
    return projects.includes(task.project?.name ?? '');
  }

  #warnInvalid(hook: string): void {
    for (const [task, problem] of this.#collector.invalidRecords) {
      if (this.#warnedTasks.has(task)) continue;
      this.#warnedTasks.add(task);
      this.#failedHooks.add(hook);
      this.#printError(
        `vitest-chaos reporter: ${hook}: invalid chaos record on "${task}": ${problem}\n`,
      );
    }
  }

  /** Scores the records; `endReason` is set once the run has ended. */
  #score(endReason?: TestRunEndReason): ScoredRun {
    this.#environment ??= describeEnvironment(this.#root(), this.#vitest?.version ?? null);
    return buildScoredRun({
      experiments: this.#collector.experiments,
      windows: this.#collector.baselineWindows,
      environment: this.#environment,
      thresholds: this.#settingsFor(this.#lastHook).thresholds,
      endReason,
      nowMs: (this.#options.now ?? Date.now)(),
    });
  }

  #writeFiles(run: ScoredRun): void {
    const { resultsDir } = this.#settingsFor('onTestRunEnd');
    writeFileAtomic(resultsDir, RESULTS_FILE, `${JSON.stringify(run.file, null, 2)}\n`);
    const probeLog = existsSync(join(resultsDir, PROBE_LOG_FILE)) ? PROBE_LOG_FILE : undefined;
    writeFileAtomic(resultsDir, REPORT_FILE, renderReport(run, probeLog));
  }

  #createWriter(): CoalescingWriter {
    const write = (): void => {
      const content = `${JSON.stringify(this.#score().file, null, 2)}\n`;
      writeFileAtomic(this.#settingsFor(this.#lastHook).resultsDir, RESULTS_FILE, content);
    };
    const onError = (error: unknown): void => this.#reportHookError(this.#lastHook, error);
    return new CoalescingWriter(write, onError, this.#options.minWriteIntervalMs ?? 250);
  }

  /**
   * Reads the settings on first use. An invalid setting is reported once under `hook`, and the
   * defaults stand in so that the scoreboard still prints.
   */
  #settingsFor(hook: string): ReporterSettings {
    if (this.#settings !== undefined) return this.#settings;
    const root = this.#root();
    this.#settings = {
      resultsDir: join(root, 'chaos-results'),
      thresholds: DEFAULT_GATE_THRESHOLDS,
    };
    this.#guard(hook, () => {
      this.#settings = readReporterSettings(this.#options.env ?? process.env, root);
    });
    return this.#settings;
  }

  #root(): string {
    return this.#vitest?.config.root ?? process.cwd();
  }

  #guard(hook: string, body: () => void): void {
    try {
      body();
    } catch (error) {
      this.#reportHookError(hook, error);
    }
  }

  /** Reports a hook's first error and marks the run failed; later errors of that hook go to debug. */
  #reportHookError(hook: string, error: unknown): void {
    process.exitCode = 1;
    const message = error instanceof Error ? error.message : String(error);
    if (this.#failedHooks.has(hook)) {
      debug('%s failed again: %s', hook, message);
      return;
    }
    this.#failedHooks.add(hook);
    debug('%s failed: %O', hook, error);
    this.#printError(`vitest-chaos reporter: ${hook} failed: ${message}\n`);
  }

  #print(text: string): void {
    if (this.#options.output) return this.#options.output(text);
    if (this.#vitest) return this.#vitest.logger.log(text.replace(/\n$/, ''));
    process.stdout.write(text);
  }

  #printError(text: string): void {
    if (this.#options.errorOutput) return this.#options.errorOutput(text);
    if (this.#vitest) return this.#vitest.logger.error(text.replace(/\n$/, ''));
    process.stderr.write(text);
  }
}

/** Lists a module's tasks with test cases first, so a suite's complete record wins over a case's. */
function tasksOf(testModule: TestModule): MetaCarrier[] {
  return [...testModule.children.allTests(), ...testModule.children.allSuites(), testModule];
}

function describeEnvironment(root: string, vitestVersion: string | null): RunEnvironment {
  return {
    frameworkVersion: readOwnVersion(),
    gitCommit: readGitCommit(root),
    vitestVersion,
    nodeVersion: process.version,
  };
}

function readOwnVersion(): string {
  try {
    const text = readFileSync(new URL('../../package.json', import.meta.url), 'utf8');
    const parsed: unknown = JSON.parse(text);
    const version = (parsed as { version?: unknown }).version;
    return typeof version === 'string' ? version : 'unknown';
  } catch (error) {
    debug('cannot read the package version: %O', error);
    return 'unknown';
  }
}

function readGitCommit(root: string): string | null {
  try {
    const output = execFileSync('git', ['rev-parse', 'HEAD'], {
      cwd: root,
      timeout: 2000,
      stdio: ['ignore', 'pipe', 'ignore'],
    });
    return output.toString().trim() || null;
  } catch (error) {
    debug('no git commit for %s: %O', root, error);
    return null;
  }
}
