import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { FixtureState } from './fixtures/lifecycle/state.ts';
import { processState, SLOW_APPLY_MS } from './support/drivers.ts';
import { sendJson, startTestServer, type TestServer } from './support/http-server.ts';
import { runVitest, waitFor } from './support/vitest-child.ts';

const CONFIG = fileURLToPath(new URL('./fixtures/lifecycle/vitest.config.ts', import.meta.url));

let pipeline: TestServer;
let victim: ChildProcess;
let victimPid: number;
let dir: string;

function startPipeline(): Promise<TestServer> {
  let firstAlertS: number | undefined;
  return startTestServer((request, response) => {
    const nowS = Date.now() / 1_000;
    if (request.url?.startsWith('/alerts')) {
      firstAlertS ??= nowS;
      sendJson(response, [
        { id: 'a1', service: 'victim', signal: 'up', severity: 'critical', fired_at: firstAlertS },
      ]);
    } else if (request.url === '/correlate')
      sendJson(response, { clusters: [{ id: 'c1', alert_ids: ['a1'], services: ['victim'] }] });
    else if (request.url === '/rca')
      sendJson(response, { root_service: 'victim', confidence: 0.9, evidence: ['victim stopped'] });
    else sendJson(response, { status: 'ok', time: nowS });
  });
}

function writeState(overrides: Partial<FixtureState>): Record<string, string> {
  const state: FixtureState = {
    victimPid,
    pipelineUrl: pipeline.url,
    journalDir: join(dir, 'journal'),
    metaFile: join(dir, 'meta.json'),
    recoveryFile: join(dir, 'recovery.json'),
    windowMs: 1_000,
    ...overrides,
  };
  writeFileSync(join(dir, 'state.json'), JSON.stringify(state));
  return { FIXTURE_STATE: join(dir, 'state.json'), FIXTURE_META_FILE: state.metaFile };
}

function journalFiles(): string[] {
  try {
    return readdirSync(join(dir, 'journal')).filter((name) => name.endsWith('.json'));
  } catch {
    return [];
  }
}

function run(suite: string, overrides: Partial<FixtureState> = {}) {
  return runVitest(CONFIG, { ...writeState(overrides), FIXTURE_SUITE: suite });
}

const isPaused = () => processState(victimPid) === 'T';

/** Returns the pid of the worker that injected the fault, from its journal entry. */
function injectingPid(): number {
  const [entryFile] = journalFiles();
  expect(entryFile, 'a journal entry for the fault').toBeDefined();
  return JSON.parse(readFileSync(join(dir, 'journal', entryFile!), 'utf8')).pid;
}

/** Returns the victim's state that a fixture recorded when it failed on purpose. */
const stateAtFailure = () => readFileSync(join(dir, 'recovery.json.at-failure'), 'utf8');

describe('experiment rollback', () => {
  beforeEach(async () => {
    // A new pipeline per test, so its one alert fires inside each test's window.
    pipeline = await startPipeline();
    dir = mkdtempSync(join(tmpdir(), 'chaos-lifecycle-'));
    victim = spawn('sleep', ['300'], { stdio: 'ignore' });
    if (victim.pid === undefined) throw new Error('sleep did not start');
    victimPid = victim.pid;
  });
  afterEach(async () => {
    await pipeline.close();
    victim.kill('SIGCONT');
    victim.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('stores the record in suite meta', async () => {
    const { exited } = run('passing.fixture.ts');
    const { code, output } = await exited;
    expect(code, output).toBe(0);
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
    const record = meta.suites[0].meta.chaos;
    expect(record.kind).toBe('experiment');
    expect(record.status).toBe('completed');
    expect(record.detection.detected).toBe(true);
    expect(record.rca.rootService).toBe('victim');
    expect(record.times.rolledBackAtMs).toBeGreaterThan(record.times.injectedAtMs);
    expect(meta.tests[0].annotations[0].message).toMatch(/^detected, MTTD \d+ms; RCA victim/);
    expect(meta.tests.at(-1)).toMatchObject({
      name: 'fixtures come from the campaign',
      state: 'passed',
    });
    expect(processState(victimPid)).not.toBe('T');
  });

  it('stores a baseline window record', async () => {
    const { code, output } = await run('baseline-window.fixture.ts').exited;
    expect(code, output).toBe(0);
    const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
    const record = meta.suites[0].meta.chaos;
    expect(record.kind).toBe('baseline_window');
    expect(record.endedAtMs - record.startedAtMs).toBeGreaterThanOrEqual(1_200);
    expect(record.alerts.map((alert: { id: string }) => alert.id)).toEqual(['a1']);
  });

  it('fails a wrong RCA hypothesis', async () => {
    const { code, output } = await run('assertion-failure.fixture.ts').exited;
    expect(code, output).toBe(1);
    expect(output).toContain('to name other-svc');
    expect(processState(victimPid)).not.toBe('T');
    expect(journalFiles()).toEqual([]);
  });

  it('rolls back after an assertion failure', async () => {
    const { code, output } = await run('assertion-during-fault.fixture.ts', { windowMs: 20_000 })
      .exited;
    expect(code, output).toBe(1);
    expect(output).toContain('assertion failing while the fault is in place');
    expect(stateAtFailure()).toBe('T');
    expect(processState(victimPid)).not.toBe('T');
    expect(journalFiles()).toEqual([]);
    const record = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8')).suites[0].meta.chaos;
    expect(record.status).toBe('error');
    expect(record.logTail.length).toBeGreaterThan(0);
  });

  it('rolls back after a hook timeout', async () => {
    const startedAtMs = Date.now();
    const { code, output } = await run('hook-timeout.fixture.ts', {
      windowMs: 20_000,
      hookTimeoutMs: 1_500,
    }).exited;
    expect(code, output).toBe(1);
    expect(output).toContain('Hook timed out');
    expect(Date.now() - startedAtMs).toBeLessThan(15_000);
    expect(processState(victimPid)).not.toBe('T');
    expect(journalFiles()).toEqual([]);
  });

  it('rolls back after an uncaught error', async () => {
    const { code, output } = await run('uncaught-error.fixture.ts', { windowMs: 1_500 }).exited;
    expect(code, output).toBe(1);
    expect(output).toContain('uncaught error raised by the fixture');
    expect(stateAtFailure()).toBe('T');
    expect(processState(victimPid)).not.toBe('T');
    expect(journalFiles()).toEqual([]);
  });

  it.each([
    { signal: 'SIGINT' as const, to: 'Vitest', exitCode: 130 },
    { signal: 'SIGTERM' as const, to: 'Vitest', exitCode: 143 },
    { signal: 'SIGINT' as const, to: 'the process group', exitCode: 130 },
  ])('rolls back on $signal to $to', async ({ signal, to, exitCode }) => {
    const vitest = run('long-window.fixture.ts', { windowMs: 20_000 });
    await waitFor(isPaused, 10_000, 'the victim to be paused');
    expect(journalFiles()).toHaveLength(1);
    // A terminal's Ctrl-C signals the whole group: Vitest and its workers.
    process.kill(to === 'Vitest' ? vitest.pid : -vitest.pid, signal);
    const { code, output } = await vitest.exited;
    expect(code, output).toBe(exitCode);
    await waitFor(() => !isPaused(), 5_000, 'the victim to resume');
    expect(processState(victimPid)).toBe('S');
    await waitFor(() => journalFiles().length === 0, 5_000, 'the journal to empty');
  });

  it('rolls back when the main process dies', async () => {
    const vitest = run('long-window.fixture.ts', { windowMs: 20_000 });
    await waitFor(isPaused, 10_000, 'the victim to be paused');
    const workerPid = injectingPid();
    // Only the main process: the worker loses its IPC channel and rolls back by itself.
    process.kill(vitest.pid, 'SIGKILL');
    await vitest.exited;
    await waitFor(() => !isPaused(), 5_000, 'the victim to resume');
    await waitFor(() => journalFiles().length === 0, 5_000, 'the journal to empty');
    // The orphaned worker stops instead of running further experiments.
    await waitFor(
      () => !['S', 'R', 'D'].includes(processState(workerPid) ?? 'gone'),
      5_000,
      'the worker to exit',
    );
  });

  // The driver is still applying when the stop arrives: the fault is in place but not yet
  // returned to the harness, so the stop must wait for it before rolling back.
  it.each([
    { stop: 'SIGINT to the worker', target: 'worker' as const, signal: 'SIGINT' as const },
    { stop: 'the death of the main process', target: 'main' as const, signal: 'SIGKILL' as const },
  ])('rolls back mid-apply on $stop', async ({ target, signal }) => {
    const vitest = run('slow-apply.fixture.ts', { windowMs: 20_000 });
    try {
      await waitFor(isPaused, 10_000, 'the victim to be paused');
      // The worker alone: the main process's own cleanup must not be what resumes the victim.
      const workerPid = injectingPid();
      process.kill(target === 'worker' ? workerPid : vitest.pid, signal);
      await waitFor(() => !isPaused(), SLOW_APPLY_MS + 5_000, 'the victim to resume');
      await waitFor(() => journalFiles().length === 0, 5_000, 'the journal to empty');
    } finally {
      if (vitest.child.exitCode === null && vitest.child.signalCode === null)
        process.kill(-vitest.pid, 'SIGKILL');
      await vitest.exited;
    }
  });

  it('recovers the journal after kill -9', async () => {
    const vitest = run('long-window.fixture.ts', { windowMs: 20_000 });
    await waitFor(isPaused, 10_000, 'the victim to be paused');
    // The whole process group: the Vitest main process and its workers die at once.
    process.kill(-vitest.pid, 'SIGKILL');
    await vitest.exited;
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(processState(victimPid)).toBe('T');
    expect(journalFiles()).toHaveLength(1);

    const { code, output } = await run('recovery-only.fixture.ts').exited;
    expect(code, output).toBe(0);
    const recovery = readFileSync(join(dir, 'recovery.json'), 'utf8');
    expect(processState(victimPid), recovery).not.toBe('T');
    expect(journalFiles()).toEqual([]);
    expect(JSON.parse(readFileSync(join(dir, 'recovery.json'), 'utf8')).rolledBack).toHaveLength(1);
  });
});
