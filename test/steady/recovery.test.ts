import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { PassThrough } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { captureBaseline, type Baseline } from '../../src/harness/steady/baseline.ts';
import { waitCooldown } from '../../src/harness/steady/cooldown.ts';
import { checkSteadyState, waitForSteadyState } from '../../src/harness/steady/gate.ts';
import { startProbe, type Probe } from '../../src/harness/steady/probe.ts';
import { createProgressReporter } from '../../src/harness/steady/progress.ts';
import { measureRecovery } from '../../src/harness/steady/recovery.ts';
import { createMetricsSampler, type MetricsSampler } from '../../src/harness/steady/sampler.ts';
import {
  stackOf,
  startLoad,
  startTestService,
  temporaryFolder,
  waitUntil,
  type TestService,
} from './helpers.ts';

const folder = temporaryFolder('steady-recovery');
let service: TestService;
let probe: Probe;
let sampler: MetricsSampler;
let baseline: Baseline;
let load: { stop(): Promise<void> };

beforeAll(async () => {
  service = await startTestService('checkout-svc');
  load = startLoad(`${service.url}/work`, 20);
  probe = startProbe({
    url: `${service.url}/health`,
    intervalMs: 100,
    latencyBoundMs: 300,
    logFile: join(folder.path, 'probe.log'),
  });
  const stack = stackOf([service]);
  baseline = await captureBaseline({
    source: { kind: 'scrape', stack },
    durationMs: 1_500,
    intervalMs: 500,
  });
  sampler = createMetricsSampler({ stack, windowMs: 1_000 });
});
afterEach(async () => {
  Object.assign(service.behaviour, { delayMs: 0, status: 200 });
  const gate = await waitForSteadyState({
    probe,
    sampler,
    baseline,
    windowMs: 1_000,
    timeoutMs: 10_000,
  });
  expect(gate.steady).toBe(true);
});
afterAll(async () => {
  await probe.stop();
  await load.stop();
  await service.stop();
  folder.remove();
});

describe('measureRecovery', () => {
  it('measures a service that heals after a known delay', async () => {
    service.behaviour.status = 503;
    await sleep(500);
    const rolledBackAtMs = Date.now();
    const healDelayMs = 1_500;
    setTimeout(() => (service.behaviour.status = 200), healDelayMs);
    const probeOnly = measureRecovery({
      probe,
      sinceMs: rolledBackAtMs,
      windowMs: 1_000,
      timeoutMs: 15_000,
    });
    const withMetrics = measureRecovery({
      probe,
      sampler,
      baseline,
      sinceMs: rolledBackAtMs,
      windowMs: 1_000,
      timeoutMs: 15_000,
    });
    const [byProbe, byBoth] = await Promise.all([probeOnly, withMetrics]);
    expect(byProbe.recovered).toBe(true);
    // The probe checks every 100 ms, so its recovery time is within a few checks of the heal.
    expect(byProbe.recoveryMs).toBeGreaterThanOrEqual(healDelayMs - 150);
    expect(byProbe.recoveryMs).toBeLessThan(healDelayMs + 600);
    expect(byProbe.detail).toMatch(/^recovered \d+s after rollback$/);
    // Metrics are judged over the sampler's 1 s window, so they may lag by about that much.
    expect(byBoth.recovered).toBe(true);
    expect(byBoth.recoveryMs).toBeGreaterThanOrEqual(byProbe.recoveryMs ?? 0);
    expect(byBoth.recoveryMs).toBeLessThan(healDelayMs + 2_500);
  });

  it('reports zero for a system that never failed', async () => {
    const result = await measureRecovery({
      probe,
      sampler,
      baseline,
      sinceMs: Date.now(),
      windowMs: 1_000,
      timeoutMs: 5_000,
    });
    expect(result.recovered).toBe(true);
    expect(result.recoveryMs).toBeLessThan(300);
  });

  it('flags a system that does not recover', async () => {
    service.behaviour.delayMs = 500;
    expect(await waitUntil(() => probe.checks().at(-1)?.pass === false, 3_000)).toBe(true);
    const progress: string[] = [];
    const result = await measureRecovery({
      probe,
      sampler,
      baseline,
      sinceMs: Date.now(),
      windowMs: 1_000,
      timeoutMs: 2_000,
      onProgress: (text) => progress.push(text),
    });
    expect(result.recovered).toBe(false);
    expect(result.recoveryMs).toBeUndefined();
    expect(result.detail).toMatch(
      /^not recovered within 2s of rollback: probe 0% over the last 1s/,
    );
    expect(progress.length).toBeGreaterThan(0);
    expect(progress[0]).toMatch(/^waiting for recovery: .*, [12]s left$/);
  });
});

/** Starts a stand-in for the pipeline's alert API on 127.0.0.1 that records an alert every 200 ms while noisy. */
async function startAlertSource() {
  const alertsAtMs: number[] = [];
  let noise: NodeJS.Timeout | undefined;
  const server = http.createServer((request, response) => {
    const since = Number(new URL(request.url ?? '/', 'http://localhost').searchParams.get('since'));
    const alerts = alertsAtMs.filter((atMs) => atMs / 1_000 >= since);
    response.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(alerts));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    noisy(on: boolean) {
      clearInterval(noise);
      if (!on) return;
      alertsAtMs.push(Date.now());
      noise = setInterval(() => alertsAtMs.push(Date.now()), 200);
    },
    async isQuiet(sinceMs: number) {
      const response = await fetch(`${url}/alerts?since=${sinceMs / 1_000}`);
      return ((await response.json()) as number[]).length === 0;
    },
    stop: () => {
      clearInterval(noise);
      return new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('waitCooldown', () => {
  const isRecovered = async () =>
    (await checkSteadyState({ probe, sampler, baseline, windowMs: 1_000 })).steady;

  it('ends an adaptive cooldown early on a quiet system', async () => {
    const alerts = await startAlertSource();
    try {
      const result = await waitCooldown({
        mode: 'adaptive',
        maxMs: 6_000,
        quietMs: 500,
        isRecovered,
        isPipelineQuiet: alerts.isQuiet,
      });
      expect(result).toMatchObject({ mode: 'adaptive', timedOut: false });
      expect(result.waitedMs).toBeLessThan(1_500);
    } finally {
      await alerts.stop();
    }
  });

  it('waits on a noisy pipeline until it quiets', async () => {
    const alerts = await startAlertSource();
    alerts.noisy(true);
    setTimeout(() => alerts.noisy(false), 1_000);
    try {
      const result = await waitCooldown({
        mode: 'adaptive',
        maxMs: 6_000,
        quietMs: 500,
        isRecovered,
        isPipelineQuiet: alerts.isQuiet,
      });
      expect(result).toMatchObject({ mode: 'adaptive', timedOut: false });
      // The last alert came at 0.8 s to 1 s, then 0.5 s of quiet were needed.
      expect(result.waitedMs).toBeGreaterThanOrEqual(1_250);
      expect(result.waitedMs).toBeLessThan(3_500);
    } finally {
      await alerts.stop();
    }
  });

  it('stops at the bound on a noisy pipeline', async () => {
    const alerts = await startAlertSource();
    alerts.noisy(true);
    const stream = new PassThrough();
    let output = '';
    stream.on('data', (chunk: Buffer) => (output += chunk.toString()));
    try {
      const result = await waitCooldown({
        mode: 'adaptive',
        maxMs: 1_000,
        quietMs: 500,
        isRecovered,
        isPipelineQuiet: alerts.isQuiet,
        onProgress: createProgressReporter(stream, { intervalMs: 10_000 }),
      });
      expect(result).toMatchObject({ mode: 'adaptive', timedOut: true });
      expect(result.waitedMs).toBeGreaterThanOrEqual(1_000);
      expect(output).toMatch(
        /^cooling down \(adaptive\): waiting for the pipeline to be quiet for 500ms, at most (\d+ms|1s) left\n$/,
      );
    } finally {
      await alerts.stop();
    }
  });

  it('waits for recovery before looking at the pipeline', async () => {
    service.behaviour.status = 500;
    expect(await waitUntil(() => probe.checks().at(-1)?.code === '500', 3_000)).toBe(true);
    let pipelineAsked = false;
    const result = await waitCooldown({
      mode: 'adaptive',
      maxMs: 1_000,
      quietMs: 500,
      isRecovered,
      isPipelineQuiet: async () => (pipelineAsked = true),
    });
    expect(result.timedOut).toBe(true);
    expect(pipelineAsked).toBe(false);
  });

  it('reads a failing check as not yet', async () => {
    const result = await waitCooldown({
      mode: 'adaptive',
      maxMs: 500,
      quietMs: 500,
      isRecovered: () => Promise.reject(new Error('pipeline down')),
      isPipelineQuiet: async () => true,
    });
    expect(result).toMatchObject({ mode: 'adaptive', timedOut: true });
  });

  it('waits the whole time in fixed mode', async () => {
    const result = await waitCooldown({
      mode: 'fixed',
      maxMs: 800,
      quietMs: 500,
      isRecovered,
      isPipelineQuiet: async () => true,
    });
    expect(result).toMatchObject({ mode: 'fixed', timedOut: false });
    expect(result.waitedMs).toBeGreaterThanOrEqual(800);
    expect(result.waitedMs).toBeLessThan(1_600);
  });
});
