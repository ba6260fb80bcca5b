import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, it } from 'vitest';
import { resultsFileSchema } from '../../src/reporters/index.ts';
import { alert, baselineWindow, detected, experiment } from './fixtures/records.ts';
import {
  makeTempDir,
  PROJECTS_CONFIG,
  removeTempDirs,
  runFixture,
  scoreboardOf,
  type FixtureRun,
} from './run-fixture.ts';
import { mixedScenario, recallScenario } from './scenarios.ts';

const MIXED_SCOREBOARD = `==== Chaos Run ====
Total: 7
Detected: 3/5
RCA correct: 1/3
False alarms in baseline windows: 1
Precision: 0.75
Recall: 0.60
MTTD p50: 28s, p95: 40s

Per-experiment:
| # | name                 | detected | mttd | rca_service  | rca_correct |
|---|----------------------|----------|------|--------------|-------------|
| 1 | payment_latency      | Y        | 28s  | payment-svc  | Y           |
| 2 | inventory_kill       | N        | —    | —            | —           |
| 3 | checkout_retry_storm | Y        | 12s  | checkout-svc | N           |
| 4 | payment_db_memory    | invalid  | —    | —            | —           |
| 5 | gateway_cpu          | aborted  | —    | —            | —           |
| 6 | auth_clock_skew      | Y        | 40s  | api-gateway  | N           |
| 7 | dns_latency          | N        | —    | —            | —           |

Not scored:
- 4: invalid: steady state not reached: probe pass rate 0.82 < 0.99
- 5: aborted: probe_pass_rate < 50% for 30s

Gaps identified:
- 2: no alert in 90s → detector: no alert for availability on inventory-svc
- 3: RCA named checkout-svc, a must-not-pick service (expected payment-svc) → RCA: picked a must-not-pick service
- 6: 2 alerts, cluster c6 has none from auth-svc → correlator: cluster holds api-gateway
- 7: 1 pipeline error, first: GET /alerts returned HTTP 500 → pipeline error: the alerts call failed

Gate failed: detected 3/5 = 60% < 70% (short by 1 experiment)
Gate failed: RCA correct 1/3 = 33.3% < 70% (short by 2 experiments)
Results: <results>
Exit code 1: decided by the gate.`;

// Each test runs Vitest in a child process, so the tests run side by side to save wall time.
afterAll(removeTempDirs);

describe.concurrent('ScoreboardReporter', () => {
  let mixedRun: Promise<FixtureRun> | undefined;
  const runMixed = (): Promise<FixtureRun> => (mixedRun ??= runFixture(mixedScenario()));

  it('scores every kind of outcome', async ({ expect }) => {
    const run = await runMixed();
    expect(scoreboardOf(run)).toBe(MIXED_SCOREBOARD);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).not.toContain('vitest-chaos reporter');
  });

  it('writes the results file and the report', async ({ expect }) => {
    const run = await runMixed();
    const file = resultsFileSchema.parse(
      JSON.parse(readFileSync(join(run.resultsDir, 'chaos_results.json'), 'utf8')),
    );
    expect(file.complete).toBe(true);
    expect(file.experiments.map((e) => e.record.id)).toEqual(['1', '2', '3', '4', '5', '6', '7']);
    expect(file.summary.falseAlarms).toBe(1);
    expect(file.experiments.find((e) => e.record.id === '3')?.gap?.stage).toBe('RCA');
    const firstAlert = file.rcaBaselines.find((b) => b.name === 'first-alert');
    expect(firstAlert?.picks).toEqual({
      '1': 'payment-svc',
      '3': 'checkout-svc',
      '6': 'api-gateway',
    });
    const report = readFileSync(join(run.resultsDir, 'chaos_report.md'), 'utf8');
    expect(report).toContain('## Setup');
    expect(report).toContain('- Experiments: 7');
    expect(report).toContain('- Probe log: not written');
    expect(report).toContain('### 3. checkout_retry_storm');
    expect(report).toContain(
      'RCA named checkout-svc, which must not be picked, expected payment-svc',
    );
    expect(report).toContain('1. Experiment 2, detector: no alert in 90s');
    expect(report).toContain('| RCA = service with the most alerts | 0.33');
    expect(report).toContain('Lift over the best trivial rule: +0 percentage points.');
    expect(report).toContain('   - cluster c6: alerts a6');
  });

  it('passes the gate when all are detected', async ({ expect }) => {
    const run = await runFixture(recallScenario(10), { probeLog: 'probe ok\n' });
    const board = scoreboardOf(run);
    expect(board).toContain(
      'Detected: 10/10\nRCA correct: 10/10\nFalse alarms in baseline windows: 0',
    );
    expect(board).toContain('Precision: 1.00\nRecall: 1.00');
    // MTTDs are 5s, 10s, ..., 50s: nearest rank p50 is the 5th value, p95 the 10th.
    expect(board).toContain('MTTD p50: 25s, p95: 50s');
    expect(board).toContain('Gaps identified:\n- none');
    expect(board).toContain(
      'Gate passed: detected 10/10 = 100% >= 70%, RCA correct 10/10 = 100% >= 70%, false alarms 0 <= 1',
    );
    expect(run.exitCode).toBe(0);
    const report = readFileSync(join(run.resultsDir, 'chaos_report.md'), 'utf8');
    expect(report).toContain('- Probe log: [probe.log](probe.log)');
  });

  it('fails the gate at recall 0.6', async ({ expect }) => {
    const run = await runFixture(recallScenario(6));
    const board = scoreboardOf(run);
    expect(board).toContain('Recall: 0.60');
    expect(board).toContain('Gate failed: detected 6/10 = 60% < 70% (short by 1 experiment)');
    expect(board).not.toContain('Gate passed');
    expect(run.exitCode).toBe(1);
  });

  it('passes the gate at recall 0.7', async ({ expect }) => {
    const run = await runFixture(recallScenario(7));
    const board = scoreboardOf(run);
    expect(board).toContain('Recall: 0.70');
    expect(board).toContain('Gate passed: detected 7/10 = 70% >= 70%');
    expect(run.exitCode).toBe(0);
    const summaryAt = run.stdout.indexOf('Test Files');
    expect(summaryAt).toBeGreaterThan(0);
    expect(run.stdout.indexOf('==== Chaos Run ====')).toBeGreaterThan(summaryAt);
  });

  it('reports none detected without baseline windows', async ({ expect }) => {
    const run = await runFixture({
      a: [{ record: experiment('1', 'payment-svc') }, { record: experiment('2', 'auth-svc') }],
    });
    expect(scoreboardOf(run)).toBe(`==== Chaos Run ====
Total: 2
Detected: 0/2
RCA correct: 0/0
False alarms in baseline windows: n/a (no baseline windows)
Precision: n/a (no baseline windows)
Recall: 0.00
MTTD p50: —, p95: —

Per-experiment:
| # | name            | detected | mttd | rca_service | rca_correct |
|---|-----------------|----------|------|-------------|-------------|
| 1 | payment_latency | N        | —    | —           | —           |
| 2 | auth_latency    | N        | —    | —           | —           |

Gaps identified:
- 1: no alert in 90s → detector: no alert for latency on payment-svc
- 2: no alert in 90s → detector: no alert for latency on auth-svc

Gate failed: detected 0/2 = 0% < 70% (short by 2 experiments)
Results: <results>
Exit code 1: decided by the gate.`);
    expect(run.exitCode).toBe(1);
  });

  it('counts every alert of a baseline window', async ({ expect }) => {
    const noisy = baselineWindow(
      [0, 1, 2].map((i) => ({
        ...detected('x', 'cache-svc', i).detection.alerts[0]!,
        id: `b${i}`,
      })),
    );
    const run = await runFixture({
      a: [{ record: detected('1', 'payment-svc', 5000) }, { record: noisy }],
    });
    const board = scoreboardOf(run);
    expect(board).toContain('False alarms in baseline windows: 3');
    // One noisy window is one false-positive cell: precision 1 / (1 + 1).
    expect(board).toContain('Precision: 0.50');
    expect(board).toContain('Gate failed: false alarms 3 > 1 (over by 2)');
    expect(run.exitCode).toBe(1);
  });

  it('stays silent without chaos records', async ({ expect }) => {
    const run = await runFixture({});
    expect(run.stdout).toContain('Test Files');
    expect(run.stdout).not.toContain('Chaos Run');
    expect(run.exitCode).toBe(0);
    expect(existsSync(run.resultsDir)).toBe(false);
  });

  it('turns the gate off with CHAOS_GATE=off', async ({ expect }) => {
    const run = await runFixture(recallScenario(2), { env: { CHAOS_GATE: 'off' } });
    expect(scoreboardOf(run)).toContain('Gate off (CHAOS_GATE=off)');
    expect(run.exitCode).toBe(0);
  });

  it('reports a failing hook and still prints', async ({ expect }) => {
    const run = await runFixture(recallScenario(10), { env: { CHAOS_GATE: 'maybe' } });
    expect(run.stderr).toMatch(
      /vitest-chaos reporter: onTest(Case|Suite)Result failed: Invalid CHAOS_GATE="maybe"/,
    );
    expect(run.stderr.match(/vitest-chaos reporter/g)).toHaveLength(1);
    expect(scoreboardOf(run)).toContain('Detected: 10/10');
    expect(run.exitCode).toBe(1);
  });

  it('rejects an invalid record loudly', async ({ expect }) => {
    const broken = { ...experiment('1', 'payment-svc'), groundTruth: { rootService: 7 } };
    const run = await runFixture({
      a: [{ record: broken as never }, { record: detected('2', 'auth-svc', 3000) }],
    });
    expect(run.stderr).toContain('invalid chaos record on "payment_latency"');
    expect(run.stderr).toContain('groundTruth.rootService');
    expect(scoreboardOf(run)).toContain('Total: 1');
    expect(run.exitCode).toBe(1);
  });

  it('ignores bad settings without records', async ({ expect }) => {
    const run = await runFixture({}, { env: { CHAOS_GATE: 'maybe' } });
    expect(run.stderr).not.toContain('vitest-chaos reporter');
    expect(run.stdout).not.toContain('Chaos Run');
    expect(run.exitCode).toBe(0);
  });

  it('lets the gate decide over missed hypotheses', async ({ expect }) => {
    const scenario = recallScenario(9);
    const missed = scenario.b![4]!;
    scenario.b![4] = { ...missed, on: 'suite', fail: true };
    const run = await runFixture(scenario);
    expect(scoreboardOf(run)).toContain(
      'Exit code 0: decided by the gate; 1 failed hypothesis assertion(s) are scored as misses above.',
    );
    expect(run.exitCode).toBe(0);
  });

  it('fails on a failure outside an experiment', async ({ expect }) => {
    const scenario = recallScenario(10);
    scenario.a![0] = { ...scenario.a![0]!, on: 'case', fail: true };
    const run = await runFixture(scenario);
    expect(scoreboardOf(run)).toContain('Exit code 1: failures outside the gate:');
    expect(run.exitCode).toBe(1);
  });

  it('marks an interrupted run', async ({ expect }) => {
    const run = await runFixture(
      {
        a: [{ record: detected('1', 'payment-svc', 5000), fail: true }],
        b: [{ record: detected('2', 'auth-svc', 5000) }],
        c: [{ record: detected('3', 'cache-svc', 5000) }],
      },
      { args: ['--bail=1'] },
    );
    const board = scoreboardOf(run);
    expect(board).toContain('Run interrupted: experiments that did not finish are missing.');
    const file = resultsFileSchema.parse(
      JSON.parse(readFileSync(join(run.resultsDir, 'chaos_results.json'), 'utf8')),
    );
    expect(file.endReason).toBe('interrupted');
    expect(run.exitCode).toBe(1);
  });

  it('reads only the selected projects', async ({ expect }) => {
    const run = await runFixture(
      {
        a: [{ record: detected('1', 'payment-svc', 5000) }],
        b: [{ record: experiment('2', 'auth-svc') }],
        c: [{ record: baselineWindow([alert('x', 'cache-svc', -400_000)]) }],
      },
      { config: PROJECTS_CONFIG },
    );
    const board = scoreboardOf(run);
    expect(board).toContain('Total: 1\nDetected: 1/1');
    expect(board).toContain('False alarms in baseline windows: n/a (no baseline windows)');
    expect(run.exitCode).toBe(0);
  });

  it('prints when the results folder is unwritable', async ({ expect }) => {
    const blocker = join(makeTempDir('chaos-blocked'), 'file');
    writeFileSync(blocker, 'not a folder');
    const run = await runFixture(recallScenario(10), { env: { CHAOS_RESULTS_DIR: blocker } });
    expect(run.stdout).toContain('==== Chaos Run ====\nTotal: 10\nDetected: 10/10');
    expect(run.stdout).toContain('Gate passed:');
    expect(run.stderr).toMatch(
      /vitest-chaos reporter: onTest(Case|Suite)Result failed: Writing \S+chaos_results.json failed: EEXIST/,
    );
    expect(run.stderr).toMatch(/vitest-chaos reporter: onTestRunEnd failed: /);
    expect(run.exitCode).toBe(1);
  });
});
