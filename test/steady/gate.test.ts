import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { bandViolations, isInBand } from '../../src/harness/steady/band.ts';
import { captureBaseline, type Baseline } from '../../src/harness/steady/baseline.ts';
import { waitForSteadyState } from '../../src/harness/steady/gate.ts';
import { createProbeLogReader, startProbe, type Probe } from '../../src/harness/steady/probe.ts';
import { createMetricsSampler, type MetricsSampler } from '../../src/harness/steady/sampler.ts';
import {
  stackOf,
  startLoad,
  startTestService,
  temporaryFolder,
  waitUntil,
  type TestService,
} from './helpers.ts';

const BASELINE: Baseline = {
  startedAtMs: 0,
  endedAtMs: 1,
  source: { kind: 'scrape', services: ['checkout-svc'], intervalMs: 1_000 },
  series: [
    { service: 'checkout-svc', metric: 'p99', mean: 20, p99: 40, samples: 10 },
    { service: 'checkout-svc', metric: 'error_rate', mean: 0, p99: 0, samples: 10 },
    { service: 'checkout-svc', metric: 'up', mean: 1, p99: 1, samples: 10 },
    { service: 'checkout-svc', metric: 'db_pool_in_use', mean: 5, p99: 6, samples: 10 },
  ],
};

describe('bandViolations', () => {
  it('accepts values inside the band', () => {
    expect(
      bandViolations(BASELINE, {
        checkout_svc_p99: 139,
        checkout_svc_error_rate: 0.9,
        checkout_svc_up: 1,
      }),
    ).toEqual([]);
  });

  it('flags slow, failing and down services', () => {
    const violations = bandViolations(BASELINE, {
      checkout_svc_p99: 141,
      checkout_svc_error_rate: 2,
      checkout_svc_up: 0,
    });
    expect(violations.map((violation) => violation.variable)).toEqual([
      'checkout_svc_p99',
      'checkout_svc_error_rate',
      'checkout_svc_up',
    ]);
    expect(violations[0]?.message).toBe('checkout_svc_p99 141 outside its baseline band 0..140');
  });

  it('flags a missing up and NaN values but skips a missing p99', () => {
    expect(bandViolations(BASELINE, {}).map((violation) => violation.message)).toEqual([
      'checkout_svc_up no value outside its baseline band 1..1',
    ]);
    expect(isInBand(BASELINE, { checkout_svc_up: 1, checkout_svc_p99: Number.NaN })).toBe(false);
  });

  it('checks gauges only on request', () => {
    const values = { checkout_svc_up: 1, 'checkout_svc:db_pool_in_use': 50 };
    expect(isInBand(BASELINE, values)).toBe(true);
    expect(isInBand(BASELINE, values, { gauges: true })).toBe(false);
    expect(
      isInBand(BASELINE, { ...values, 'checkout_svc:db_pool_in_use': 6 }, { gauges: true }),
    ).toBe(true);
  });

  it('takes a number as the ratio', () => {
    const slow = { checkout_svc_up: 1, checkout_svc_p99: 500 };
    expect(isInBand(BASELINE, slow)).toBe(false);
    expect(isInBand(BASELINE, slow, 20)).toBe(true);
  });
});

describe('waitForSteadyState', () => {
  const folder = temporaryFolder('steady-gate');
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
      durationMs: 2_000,
      intervalMs: 500,
    });
    sampler = createMetricsSampler({ stack, windowMs: 1_000 });
  });
  // Each test starts from a healed service whose probe and latency windows contain no earlier fault.
  afterEach(async () => {
    Object.assign(service.behaviour, { delayMs: 0, status: 200, garbageMetrics: false });
    const gate = await waitForSteadyState({
      probe,
      sampler,
      baseline,
      windowMs: 2_000,
      timeoutMs: 15_000,
    });
    expect(gate.steady).toBe(true);
  });
  afterAll(async () => {
    await probe.stop();
    await load.stop();
    await service.stop();
    folder.remove();
  });

  it('passes a healthy service', async () => {
    const result = await waitForSteadyState({
      probe,
      sampler,
      baseline,
      windowMs: 1_000,
      timeoutMs: 10_000,
    });
    expect(result).toMatchObject({ steady: true });
    expect(result.waitedMs).toBeLessThan(10_000);
  });

  it('rejects a service answering 500', async () => {
    service.behaviour.status = 500;
    await waitUntil(() => probe.checks().at(-1)?.code === '500', 2_000);
    const progress: string[] = [];
    const result = await waitForSteadyState({
      probe,
      sampler,
      baseline,
      windowMs: 1_000,
      timeoutMs: 2_000,
      onProgress: (text) => progress.push(text),
    });
    expect(result.steady).toBe(false);
    expect(result.waitedMs).toBeGreaterThanOrEqual(2_000);
    if (result.steady) return;
    expect(result.reason).toMatch(/^not steady within 2s: probe 0% over the last 1s \(needs 99%\)/);
    expect(result.reason).toContain('checkout_svc_error_rate 100 outside its baseline band');
    expect(progress[0]).toMatch(/^waiting for steady state: probe .*, [12]s left$/);
  });

  it('rejects a slow service', async () => {
    service.behaviour.delayMs = 600;
    await waitUntil(
      () => probe.checks().at(-1)?.code === '200' && !probe.checks().at(-1)?.pass,
      3_000,
    );
    const result = await waitForSteadyState({
      probe,
      sampler,
      baseline,
      windowMs: 2_000,
      timeoutMs: 1_500,
    });
    expect(result.steady).toBe(false);
    if (result.steady) return;
    expect(result.reason).toMatch(/probe \d+(\.\d)?% over the last 2s \(needs 99%\)/);
    expect(result.reason).toMatch(/checkout_svc_p99 \d+(\.\d)? outside its baseline band/);
  });

  it('rejects garbage metrics while the probe passes', async () => {
    service.behaviour.garbageMetrics = true;
    const result = await waitForSteadyState({
      probe,
      sampler,
      baseline,
      windowMs: 1_000,
      timeoutMs: 1_000,
    });
    expect(result.steady).toBe(false);
    if (result.steady) return;
    expect(result.reason).not.toContain('probe');
    expect(result.reason).toContain('checkout_svc_up 0 outside its baseline band 1..1');
  });

  it('rejects a window without probe checks', async () => {
    const reader = createProbeLogReader(join(folder.path, 'never-written.log'));
    const result = await waitForSteadyState({ probe: reader, windowMs: 1_000, timeoutMs: 300 });
    expect(result).toMatchObject({
      steady: false,
      reason: 'not steady within 300ms: no probe check in the last 1s',
    });
  });

  it('waits until a new probe covered a window', async () => {
    const fresh = startProbe({
      url: `${service.url}/health`,
      intervalMs: 100,
      logFile: join(folder.path, 'fresh.log'),
    });
    try {
      const result = await waitForSteadyState({ probe: fresh, windowMs: 1_000, timeoutMs: 5_000 });
      expect(result.steady).toBe(true);
      expect(result.waitedMs).toBeGreaterThanOrEqual(400);
    } finally {
      await fresh.stop();
    }
  });

  it('waits for a service that heals in time', async () => {
    service.behaviour.status = 503;
    await waitUntil(() => probe.checks().at(-1)?.code === '503', 2_000);
    setTimeout(() => (service.behaviour.status = 200), 1_500);
    const result = await waitForSteadyState({
      probe,
      sampler,
      baseline,
      windowMs: 1_000,
      timeoutMs: 10_000,
    });
    expect(result.steady).toBe(true);
    // Healed after 1.5 s, then the probe needs a whole clean window of 1 s.
    expect(result.waitedMs).toBeGreaterThanOrEqual(2_300);
    expect(result.waitedMs).toBeLessThan(8_000);
  });
});
