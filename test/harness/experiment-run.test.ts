import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { resolveContext, type ExperimentOptions } from '../../src/harness/experiment/context.ts';
import { ExperimentRun } from '../../src/harness/experiment/run.ts';
import { defineExperiment } from '../../src/harness/experiment/catalog.ts';
import type { ExperimentInput } from '../../src/harness/experiment/schema.ts';
import type { FaultDriver } from '../../src/harness/faults/driver.ts';
import { registerDriver } from '../../src/harness/faults/registry.ts';
import { Journal } from '../../src/harness/journal/journal.ts';
import { createPipelineClient } from '../../src/harness/pipeline/client.ts';
import { experimentRecordSchema } from '../../src/harness/record.ts';
import type { StackInfo } from '../../src/harness/stack-info.ts';
import { createProbeLogReader } from '../../src/harness/steady/probe-log.ts';
import { processState, sigstopDriver } from './support/drivers.ts';
import { sendJson, startTestServer, type TestServer } from './support/http-server.ts';

let victim: ChildProcess;
let stack: StackInfo;
let dir: string;
let pipeline: TestServer;
let skewMs = 0;
let failAlerts = false;

const BASE: ExperimentInput = {
  id: 'r1',
  name: 'pause_victim',
  hypothesis: { text: 'detected', expect: { detected: true, mttd_max: '10s', rca: 'victim' } },
  fault: { type: 'process_pause', target: 'victim' },
  blast_radius: { target: 'victim', duration: '1s' },
  ground_truth: { root_service: 'victim' },
};

/** Writes probe checks, one per 250 ms from `fromMs` to `toMs`, all passing or all failing. */
function writeProbeLog(pass: boolean, fromMs: number, toMs: number): string {
  const file = join(dir, 'probe.log');
  let text = '';
  for (let atMs = fromMs; atMs <= toMs; atMs += 250) {
    text += pass
      ? `${(atMs / 1_000).toFixed(3)} pass 5\n`
      : `${(atMs / 1_000).toFixed(3)} fail 503 5\n`;
  }
  writeFileSync(file, text);
  return file;
}

async function runExperiment(input: Partial<ExperimentInput>, options: ExperimentOptions) {
  const experiment = defineExperiment({ ...BASE, ...input });
  const allOptions: ExperimentOptions = {
    stack,
    pipeline: createPipelineClient({ baseUrl: pipeline.url, timeoutMs: 1_000 }),
    journal: new Journal(join(dir, 'journal')),
    sampler: false,
    probe: false,
    recovery: false,
    cooldown: false,
    faultDurationMs: 800,
    detectionWindowMs: 800,
    pollIntervalMs: 100,
    ...options,
  };
  const context = resolveContext(allOptions, undefined, { blastMs: 1_000, detectionMs: 1_000 });
  const run = new ExperimentRun(experiment, context, allOptions);
  await run.start();
  return run.finish();
}

const journalFiles = () =>
  readdirSync(join(dir, 'journal'), { withFileTypes: true }).filter((entry) => entry.isFile());

describe('ExperimentRun', () => {
  beforeAll(async () => {
    pipeline = await startTestServer((request, response) => {
      const pipelineNowS = (Date.now() + skewMs) / 1_000;
      if (request.url?.startsWith('/alerts')) {
        if (failAlerts) sendJson(response, { error: 'detector down' }, 500);
        else
          sendJson(response, [
            { id: 'a1', service: 'victim', signal: 'up', fired_at: pipelineNowS },
          ]);
      } else if (request.url === '/correlate')
        sendJson(response, [{ id: 'c1', alert_ids: ['a1'], services: ['victim'] }]);
      else if (request.url === '/rca')
        sendJson(response, { root_service: 'victim', confidence: 0.7, evidence: [] });
      else sendJson(response, { time: pipelineNowS });
    });
  });
  afterAll(() => pipeline.close());
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'chaos-run-'));
    victim = spawn('sleep', ['120'], { stdio: 'ignore' });
    stack = {
      kind: 'process',
      services: [
        {
          name: 'victim',
          url: 'http://127.0.0.1:9',
          port: 9,
          pid: victim.pid,
          healthPath: '/health',
          metricsPath: '/metrics',
        },
      ],
      edges: [],
      topology: {},
      probeUrl: 'http://127.0.0.1:9/',
    };
    skewMs = 0;
    failAlerts = false;
  });
  afterEach(() => {
    victim.kill('SIGCONT');
    victim.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('completes and scores a detected fault', async () => {
    const record = await runExperiment({}, {});
    expect(record.status).toBe('completed');
    expect(record.detection.detected).toBe(true);
    expect(record.rca?.rootService).toBe('victim');
    expect(record.times.rolledBackAtMs).toBeDefined();
    expect(record.logTail).toBeUndefined();
    expect(experimentRecordSchema.safeParse(record).success).toBe(true);
    expect(processState(victim.pid ?? 0)).not.toBe('T');
  });

  it('corrects a skewed pipeline clock', async () => {
    skewMs = 60_000;
    const record = await runExperiment({}, {});
    expect(Math.abs((record.clockOffsetMs ?? 0) - 60_000)).toBeLessThan(500);
    expect(record.detection.mttdMs).toBeLessThan(2_000);
  });

  it('records pipeline errors without failing', async () => {
    failAlerts = true;
    const record = await runExperiment({}, {});
    expect(record.status).toBe('completed');
    expect(record.detection.detected).toBe(false);
    expect(record.pipelineErrors[0]?.message).toBe('alerts: HTTP 500');
    expect(record.pipelineErrors[0]?.excerpt).toContain('detector down');
    expect(record.logTail?.length).toBeGreaterThan(0);
  });

  it('marks an unsteady system invalid', async () => {
    const probe = createProbeLogReader(
      writeProbeLog(false, Date.now() - 15_000, Date.now() + 5_000),
    );
    const record = await runExperiment(
      {},
      { probe, steadyState: { windowMs: 1_000, timeoutMs: 500 } },
    );
    expect(record.status).toBe('invalid');
    expect(record.reason).toContain('not in steady state');
    expect(record.times.injectedAtMs).toBeUndefined();
  });

  it('marks a missing requirement invalid', async () => {
    const unregister = registerDriver({
      ...sigstopDriver,
      name: 'test-needs-tool',
      checkRequirements: async () => [
        { what: 'stress-ng', reason: 'it burns CPU', fix: 'apt-get install -y stress-ng' },
      ],
    });
    try {
      const record = await runExperiment(
        { fault: { type: 'process_pause', target: 'victim', driver: 'test-needs-tool' } },
        {},
      );
      expect(record.status).toBe('invalid');
      expect(record.reason).toContain('apt-get install -y stress-ng');
      expect(processState(victim.pid ?? 0)).not.toBe('T');
    } finally {
      unregister();
    }
  });

  it('marks a fault that never took effect invalid', async () => {
    const inert: FaultDriver = {
      ...sigstopDriver,
      name: 'test-inert',
      apply: async () => undefined,
    };
    const unregister = registerDriver(inert);
    try {
      const record = await runExperiment(
        { fault: { type: 'process_pause', target: 'victim', driver: 'test-inert' } },
        { manifestation: { timeoutMs: 400, intervalMs: 100 } },
      );
      expect(record.status).toBe('invalid');
      expect(record.reason).toMatch(/never took effect: process \d+ state S/);
      expect(record.detection.detected).toBe(false);
      expect(journalFiles()).toEqual([]);
    } finally {
      unregister();
    }
  });

  it('aborts when an abort condition holds', async () => {
    const probe = createProbeLogReader(
      writeProbeLog(false, Date.now() - 5_000, Date.now() + 10_000),
    );
    const record = await runExperiment(
      { abort_conditions: ['probe_pass_rate < 50%'] },
      { probe, steadyState: false, faultDurationMs: 5_000, detectionWindowMs: 5_000 },
    );
    expect(record.status).toBe('aborted');
    expect(record.abort?.condition).toBe('probe_pass_rate < 50%');
    expect(record.abort?.values.probe_pass_rate).toBe(0);
    expect((record.times.rolledBackAtMs ?? 0) - (record.times.injectedAtMs ?? 0)).toBeLessThan(
      2_000,
    );
    expect(processState(victim.pid ?? 0)).not.toBe('T');
  });
});
