import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import type { Scenario } from './fixtures/define-suites.ts';

const REPO_ROOT = resolve(import.meta.dirname, '../..');
const VITEST_BIN = join(REPO_ROOT, 'node_modules/vitest/vitest.mjs');
export const FIXTURE_CONFIG = join(import.meta.dirname, 'fixtures/vitest.config.ts');
export const PROJECTS_CONFIG = join(import.meta.dirname, 'fixtures/projects.config.ts');

/** A child Vitest run on the fixture suites. */
export interface FixtureRun {
  stdout: string;
  stderr: string;
  exitCode: number | null;
  signal: NodeJS.Signals | null;
  /** The results folder the reporter was pointed at. */
  resultsDir: string;
}

const tempDirs: string[] = [];

/** Creates a temporary folder that `removeTempDirs` deletes. */
export function makeTempDir(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), `${prefix}-${process.pid}-`));
  tempDirs.push(dir);
  return dir;
}

/** Deletes every folder made by `makeTempDir` in this test file; call it in afterAll. */
export function removeTempDirs(): void {
  for (const dir of tempDirs.splice(0)) rmSync(dir, { recursive: true, force: true });
}

/** Creates a temporary folder with the scenario file and room for the results folder. */
export function prepareScenario(scenario: Scenario): {
  dir: string;
  scenarioFile: string;
  resultsDir: string;
} {
  const dir = makeTempDir('chaos-reporter');
  const scenarioFile = join(dir, 'scenario.json');
  writeFileSync(scenarioFile, JSON.stringify(scenario));
  return { dir, scenarioFile, resultsDir: join(dir, 'results') };
}

/** Builds the environment of a child run: no inherited Vitest or chaos variables, no colours. */
export function childEnv(extra: Record<string, string>): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [key, value] of Object.entries(process.env)) {
    if (!/^(VITEST|CHAOS_|TEST$|NODE_ENV$|FORCE_COLOR$|DEBUG$)/.test(key)) env[key] = value;
  }
  return { ...env, NO_COLOR: '1', CI: '1', ...extra };
}

/** Starts Vitest in a child process of its own process group; `args` follow `vitest`. */
export function startVitest(args: string[], env: NodeJS.ProcessEnv): ChildProcess {
  return spawn(process.execPath, [VITEST_BIN, ...args], {
    cwd: REPO_ROOT,
    env,
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

/** Waits for a child to exit, killing its process group after `timeoutMs`. */
export function collectOutput(
  child: ChildProcess,
  timeoutMs = 60_000,
): Promise<Omit<FixtureRun, 'resultsDir'>> {
  let stdout = '';
  let stderr = '';
  child.stdout?.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolvePromise, reject) => {
    const timer = setTimeout(() => {
      if (child.pid !== undefined) process.kill(-child.pid, 'SIGKILL');
      reject(new Error(`vitest child timed out after ${timeoutMs} ms:\n${stdout}\n${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (exitCode, signal) => {
      clearTimeout(timer);
      resolvePromise({ stdout, stderr, exitCode, signal });
    });
  });
}

/** Runs the fixture suites of `scenario` under the scoreboard reporter. */
export async function runFixture(
  scenario: Scenario,
  options: {
    env?: Record<string, string>;
    args?: string[];
    probeLog?: string;
    config?: string;
  } = {},
): Promise<FixtureRun> {
  const { scenarioFile, resultsDir } = prepareScenario(scenario);
  if (options.probeLog !== undefined) {
    mkdirSync(resultsDir);
    writeFileSync(join(resultsDir, 'probe.log'), options.probeLog);
  }
  const env = childEnv({
    CHAOS_FIXTURE: scenarioFile,
    CHAOS_RESULTS_DIR: resultsDir,
    ...options.env,
  });
  const config = options.config ?? FIXTURE_CONFIG;
  const child = startVitest(['run', '--config', config, ...(options.args ?? [])], env);
  return { ...(await collectOutput(child)), resultsDir };
}

/** Extracts the scoreboard block of a run's output, with the results folder as `<results>`. */
export function scoreboardOf(run: Pick<FixtureRun, 'stdout' | 'resultsDir'>): string {
  const start = run.stdout.indexOf('==== Chaos Run ====');
  if (start < 0) throw new Error(`no scoreboard in the output:\n${run.stdout}`);
  return run.stdout.slice(start).split(run.resultsDir).join('<results>').trimEnd();
}
