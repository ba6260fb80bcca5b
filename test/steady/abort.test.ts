import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { watchAbortConditions } from '../../src/harness/steady/abort.ts';
import { ConditionSyntaxError } from '../../src/harness/steady/conditions.ts';
import { startProbe, type Probe } from '../../src/harness/steady/probe.ts';
import { waitForSteadyState } from '../../src/harness/steady/gate.ts';
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

const folder = temporaryFolder('steady-abort');
let service: TestService;
let probe: Probe;
let sampler: MetricsSampler;
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
  sampler = createMetricsSampler({ stack: stackOf([service]), windowMs: 1_000 });
  await sleep(500);
});
// Every test starts on a steady system whose latency window contains no earlier fault.
beforeEach(async () => {
  const gate = await waitForSteadyState({ probe, sampler, windowMs: 1_500, timeoutMs: 15_000 });
  expect(gate.steady).toBe(true);
  const fast = await waitUntil(
    async () => ((await sampler.sample()).checkout_p99 ?? 0) < 100,
    10_000,
  );
  expect(fast).toBe(true);
});
afterEach(() => {
  service.behaviour.delayMs = 0;
});
afterAll(async () => {
  await probe.stop();
  await load.stop();
  await service.stop();
  folder.remove();
});

async function timeHealth(): Promise<number> {
  const startedAt = performance.now();
  await (await fetch(`${service.url}/health`)).arrayBuffer();
  return performance.now() - startedAt;
}

describe('watchAbortConditions', () => {
  it('rolls back a slow fault early', async () => {
    const plannedFaultMs = 20_000;
    let rolledBackAtMs: number | undefined;
    const rollback = () => {
      service.behaviour.delayMs = 0;
      rolledBackAtMs = Date.now();
    };
    // Inject: every request now takes 600 ms, above the probe's 300 ms bound.
    const injectedAtMs = Date.now();
    service.behaviour.delayMs = 600;
    await using watch = watchAbortConditions({
      conditions: ['probe_pass_rate < 90% for 1s', 'checkout_p99 > 3s'],
      probe,
      probeWindowMs: 1_000,
      sampler,
      intervalMs: 200,
      onTrip: rollback,
    });
    const trip = await Promise.race([watch.tripped, sleep(plannedFaultMs).then(() => undefined)]);
    if (rolledBackAtMs === undefined) rollback();

    expect(trip?.condition).toBe('probe_pass_rate < 90% for 1s');
    expect(trip?.values.probe_pass_rate).toBeLessThan(90);
    expect(rolledBackAtMs! - injectedAtMs).toBeLessThan(8_000);
    // The fault is really gone: the endpoint is fast again and the system recovers.
    expect(await timeHealth()).toBeLessThan(300);
    const recovery = await measureRecovery({
      probe,
      sinceMs: rolledBackAtMs!,
      windowMs: 1_000,
      timeoutMs: 10_000,
    });
    expect(recovery.recovered).toBe(true);
  });

  it('trips on a service p99', async () => {
    service.behaviour.delayMs = 400;
    const watch = watchAbortConditions({
      conditions: ['checkout_p99 > 250ms AND checkout_up == 1'],
      sampler,
      intervalMs: 200,
      onTrip: () => {
        service.behaviour.delayMs = 0;
      },
    });
    const trip = await Promise.race([watch.tripped, sleep(10_000).then(() => undefined)]);
    await watch.stop();
    expect(trip?.condition).toBe('checkout_p99 > 250ms AND checkout_up == 1');
    expect(trip?.values.checkout_p99).toBeGreaterThan(250);
    expect(trip?.values.checkout_up).toBe(1);
    expect(service.behaviour.delayMs).toBe(0);
  });

  it('stops without a trip on a healthy system', async () => {
    const watch = watchAbortConditions({
      conditions: ['probe_pass_rate < 90%'],
      probe,
      intervalMs: 100,
    });
    await sleep(500);
    await watch.stop();
    expect(await watch.tripped).toBeUndefined();
    expect(watch.trip()).toBeUndefined();
  });

  it('rejects malformed and unknown conditions', () => {
    expect(() => watchAbortConditions({ conditions: ['probe_pass_rate < 90 %'], probe })).toThrow(
      ConditionSyntaxError,
    );
    expect(() =>
      watchAbortConditions({ conditions: ['chekout_p99 > 3s'], probe, sampler }),
    ).toThrow(
      'Abort condition "chekout_p99 > 3s" reads chekout_p99, but no service is named chekout. Known: checkout_svc, checkout.',
    );
    expect(() => watchAbortConditions({ conditions: ['probe_pass_rate < 90%'], sampler })).toThrow(
      /no probe was given/,
    );
  });

  it('reports a failed action from stop', async () => {
    const watch = watchAbortConditions({
      conditions: ['checkout_up == 1'],
      sampler,
      intervalMs: 100,
      onTrip: () => {
        throw new Error('rollback exploded');
      },
    });
    expect((await watch.tripped)?.condition).toBe('checkout_up == 1');
    await expect(watch.stop()).rejects.toThrow(
      'The action on an abort condition failed: rollback exploded',
    );
  });
});
