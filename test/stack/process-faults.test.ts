import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type RunningStack } from '../../fixtures/stack/index.ts';
import { processDriver } from '../../src/harness/drivers/process/index.ts';
import { startToxiproxyServer } from '../../src/harness/drivers/toxiproxy/server.ts';
import type { DriverContext, FaultPlan } from '../../src/harness/faults/driver.ts';
import { faultSchema, type FaultInput } from '../../src/harness/faults/spec.ts';
import {
  cgroupsMatching,
  delta,
  eventually,
  meanBetween,
  mountsMatching,
  pidsMatching,
  probe,
  percentile,
  probeOnce,
  scrape,
  sleep,
  successRate,
  sum,
  windows,
} from './helpers.ts';

// One stack for the whole file. Each test injects a real fault through the process driver,
// measures the symptom in the metrics and the probe, rolls back, and measures that it is gone.
let toxiproxy: Awaited<ReturnType<typeof startToxiproxyServer>>;
let stack: RunningStack;
let context: DriverContext;
const plans: FaultPlan[] = [];
const LATENCY = 'http_server_request_duration_seconds';

async function inject(input: FaultInput): Promise<FaultPlan> {
  const fault = faultSchema.parse(input);
  expect(await processDriver.checkRequirements(fault, context)).toEqual([]);
  const plan = await processDriver.plan(fault, context);
  plans.push(plan);
  await processDriver.apply(plan, context);
  const manifestation = await processDriver.verify(plan, context);
  expect(manifestation.manifested, manifestation.detail).toBe(true);
  return plan;
}

async function rollback(plan: FaultPlan): Promise<void> {
  await processDriver.rollback(plan, context);
  expect(await processDriver.inspect!(plan)).toBe('inactive');
}

async function services(): Promise<
  { name: string; pid: number | null; restarts: number; state: string }[]
> {
  const response = await fetch(`${stack.info.supervisorUrl}/services`);
  return (await response.json()) as never;
}

beforeAll(async () => {
  toxiproxy = await startToxiproxyServer();
  stack = await startStack({ toxiproxyUrl: toxiproxy.url, workload: { ratePerSecond: 6 } });
  context = { stack: stack.info, experimentKey: `t${process.pid}x${Date.now() % 100_000}` };
  await sleep(2_000);
});

afterAll(async () => {
  for (const plan of plans) await processDriver.rollback(plan, context).catch(() => undefined);
  const stateDir = stack?.info.stateDir ?? 'none';
  const { memoryCgroupRoot } = JSON.parse(
    readFileSync(join(stateDir, 'stack-config.json'), 'utf8'),
  ) as {
    memoryCgroupRoot?: string;
  };
  await stack?.stop();
  await toxiproxy?.stop();
  expect(pidsMatching(stateDir)).toEqual([]);
  expect(mountsMatching(stateDir)).toEqual([]);
  expect(memoryCgroupRoot).toBeDefined();
  expect(existsSync(memoryCgroupRoot!)).toBe(false);
});

describe('embedded stack under process faults', () => {
  it('answers the probe while steady', async () => {
    const results = await probe(stack.info.probeUrl, 40, 250);
    expect(successRate(results)).toBe(1);
    const list = await services();
    expect(list).toHaveLength(13);
    expect(list.every((service) => service.state === 'running')).toBe(true);
  });

  it('gateway CPU saturation slows only the gateway', async () => {
    const names = ['api-gateway', 'inventory-svc'];
    const neighbourUrl = `${stack.info.services.find((service) => service.name === 'inventory-svc')!.url}/items`;
    // The neighbour's p99 comes from 100 direct calls per window, finer than histogram buckets.
    const sampleNeighbour = () => probe(neighbourUrl, 100, 50);
    const [base, baseNeighbour] = await Promise.all([
      windows(stack.info, names, 5_000),
      sampleNeighbour(),
    ]);
    const plan = await inject({
      type: 'cpu_saturation',
      target: 'api-gateway',
      load: 100,
      workers: 2,
      cpu_limit: 0.2,
    });
    const [hot, hotNeighbour] = await Promise.all([
      windows(stack.info, names, 6_000),
      sampleNeighbour(),
    ]);
    const throttled = /nr_throttled (\d+)/.exec(
      readFileSync(`${String(plan.data.cgroup)}/cpu.stat`, 'utf8'),
    );
    await rollback(plan);
    expect(cgroupsMatching('cpu', `vitest-chaos-cpu-${context.experimentKey}`)).toEqual([]);
    expect(pidsMatching('stress-ng')).toEqual([]);
    await sleep(1_000);
    const after = await windows(stack.info, names, 4_000);

    const mean = (w: typeof base, service: string) =>
      meanBetween(w[service]!.before, w[service]!.after, LATENCY) * 1e3;
    const p99 = (results: typeof baseNeighbour) =>
      percentile(
        results.map((result) => result.durationMs),
        99,
      );
    const measured = {
      throttledPeriods: Number(throttled?.[1]),
      gatewayBaseMs: mean(base, 'api-gateway'),
      gatewayHotMs: mean(hot, 'api-gateway'),
      gatewayAfterMs: mean(after, 'api-gateway'),
      neighbourBaseMs: mean(base, 'inventory-svc'),
      neighbourHotMs: mean(hot, 'inventory-svc'),
      neighbourBaseP99Ms: p99(baseNeighbour),
      neighbourHotP99Ms: p99(hotNeighbour),
    };
    console.log(measured);
    expect(measured.throttledPeriods).toBeGreaterThan(0);
    const gatewayRiseMs = measured.gatewayHotMs - measured.gatewayBaseMs;
    const neighbourRiseMs = measured.neighbourHotMs - measured.neighbourBaseMs;
    expect(gatewayRiseMs).toBeGreaterThan(15);
    expect(gatewayRiseMs).toBeGreaterThan(3 * Math.max(0, neighbourRiseMs));
    // Other test files run stacks on the same two cores, so "flat" allows twice the baseline.
    expect(measured.neighbourHotP99Ms).toBeLessThanOrEqual(measured.neighbourBaseP99Ms * 2 + 20);
    expect(successRate(hotNeighbour)).toBe(1);
    // After rollback the gateway is only required to be faster than under the quota, not back at
    // its baseline, for the same reason.
    expect(measured.gatewayAfterMs).toBeLessThan(measured.gatewayHotMs);
  });

  it('inventory killed every interval comes back', async () => {
    const inventoryUrl = stack.info.services.find(
      (service) => service.name === 'inventory-svc',
    )!.url;
    const first = (await services()).find((service) => service.name === 'inventory-svc')!;
    const before = await Promise.all(
      ['api-gateway', 'checkout-svc'].map((name) => scrape(stack.info, name)),
    );
    const plan = await inject({
      type: 'availability',
      target: 'inventory-svc',
      interval: '3s',
      restart_after: '1s',
    });
    const refused = await fetch(`${inventoryUrl}/health`).then(
      () => 'answered',
      (error: Error) => String((error.cause as { code?: string } | undefined)?.code),
    );
    await sleep(7_000);
    const during = (await services()).find((service) => service.name === 'inventory-svc')!;
    const after = await Promise.all(
      ['api-gateway', 'checkout-svc'].map((name) => scrape(stack.info, name)),
    );
    await rollback(plan);
    const connectionErrors =
      delta(before[0]!, after[0]!, 'http_client_requests_total', {
        peer: 'inventory-svc',
        status: 'error',
      }) +
      delta(before[1]!, after[1]!, 'http_client_requests_total', {
        peer: 'inventory-svc',
        status: 'error',
      });
    console.log({ refused, restarts: during.restarts - first.restarts, connectionErrors });
    expect(refused).toBe('ECONNREFUSED');
    expect(during.restarts - first.restarts).toBeGreaterThanOrEqual(2);
    expect(connectionErrors).toBeGreaterThan(0);
    const back = await eventually(
      async () => (await services()).find((service) => service.name === 'inventory-svc')!,
      (service) => service.state === 'running',
      8_000,
    );
    expect(back.pid).not.toBe(first.pid);
    expect(pidsMatching(context.experimentKey)).toEqual([]);
    await eventually(
      () => probeOnce(stack.info.probeUrl),
      (result) => result.status === 200,
      8_000,
    );
  });

  it('payment pause stalls checkout until resumed', async () => {
    const plan = await inject({ type: 'process_pause', target: 'payment-svc' });
    const state = (await services()).find((service) => service.name === 'payment-svc')!.state;
    const paused = await probeOnce(stack.info.probeUrl, 6_000);
    await rollback(plan);
    const resumed = await eventually(
      () => probeOnce(stack.info.probeUrl),
      (result) => result.status === 200,
      8_000,
    );
    console.log({ state, paused, resumed });
    expect(state).toBe('paused');
    expect(paused.status).not.toBe(200);
    expect(paused.durationMs).toBeGreaterThan(1_000);
    expect((await services()).find((service) => service.name === 'payment-svc')!.state).toBe(
      'running',
    );
  });

  it('payment-db memory fill stalls its pool', async () => {
    const base = await windows(stack.info, ['payment-db', 'payment-svc'], 3_000);
    const plan = await inject({ type: 'memory', target: 'payment-db', fill: 95 });
    await sleep(1_500);
    const hot = await windows(stack.info, ['payment-db', 'payment-svc'], 5_000);
    await rollback(plan);
    await sleep(1_500);
    const after = await windows(stack.info, ['payment-db', 'payment-svc'], 3_000);
    const db = (w: typeof base) => w['payment-db']!;
    const pay = (w: typeof base) => w['payment-svc']!;
    const usedShare =
      sum(db(hot).after, 'memory_used_bytes') / sum(db(hot).after, 'memory_limit_bytes');
    const waitBaseS = meanBetween(db(base).before, db(base).after, 'db_pool_wait_seconds');
    const waitHotS = meanBetween(db(hot).before, db(hot).after, 'db_pool_wait_seconds');
    const waitAfterS = meanBetween(db(after).before, db(after).after, 'db_pool_wait_seconds');
    const failuresHot = delta(pay(hot).before, pay(hot).after, 'http_server_requests_total', {
      route: '/charge',
      status: '503',
    });
    const failuresAfter = delta(pay(after).before, pay(after).after, 'http_server_requests_total', {
      route: '/charge',
      status: '503',
    });
    const chargeHotS = meanBetween(pay(hot).before, pay(hot).after, LATENCY, { route: '/charge' });
    console.log({
      usedShare,
      waitBaseS,
      waitHotS,
      waitAfterS,
      failuresHot,
      failuresAfter,
      chargeHotS,
    });
    expect(usedShare).toBeGreaterThan(0.85);
    expect(waitBaseS).toBeLessThan(0.05);
    expect(waitHotS).toBeGreaterThan(0.5);
    expect(failuresHot).toBeGreaterThan(0);
    expect(chargeHotS).toBeGreaterThan(0.5);
    expect(waitAfterS).toBeLessThan(0.05);
    expect(failuresAfter).toBe(0);
  });

  it('auth clock skew makes the gateway reject tokens', async () => {
    const before = await scrape(stack.info, 'api-gateway');
    const plan = await inject({ type: 'time_skew', target: 'auth-svc', offset: '+60s' });
    const rejected = await eventually(
      () => probeOnce(stack.info.probeUrl),
      (result) => result.status === 401,
      8_000,
    );
    const during = await scrape(stack.info, 'api-gateway');
    await rollback(plan);
    const recovered = await eventually(
      () => probeOnce(stack.info.probeUrl),
      (result) => result.status === 200,
      8_000,
    );
    const after = await scrape(stack.info, 'api-gateway');
    await sleep(2_000);
    const later = await scrape(stack.info, 'api-gateway');
    const rejections = delta(before, during, 'auth_token_rejections_total');
    const reasons = during
      .filter((sample) => sample.name === 'auth_token_rejections_total')
      .map((sample) => sample.labels.reason);
    console.log({ rejected, recovered, rejections, reasons });
    expect(rejections).toBeGreaterThan(0);
    expect(reasons.some((reason) => reason === 'iat' || reason === 'nbf')).toBe(true);
    expect(delta(after, later, 'auth_token_rejections_total')).toBe(0);
  });

  it('log-collector stops writing at 95% full', async () => {
    const before = await scrape(stack.info, 'log-collector');
    const plan = await inject({ type: 'disk_fill', target: 'log-collector', fill: 95 });
    const during = await eventually(
      () => scrape(stack.info, 'log-collector'),
      (samples) => sum(samples, 'log_ingestion_lag_seconds') > 2,
      12_000,
    );
    await rollback(plan);
    const after = await eventually(
      () => scrape(stack.info, 'log-collector'),
      (samples) =>
        sum(samples, 'log_ingestion_lag_seconds') < 1 &&
        sum(samples, 'disk_free_bytes') > 2 * 1024 * 1024,
      10_000,
    );
    const blocked = delta(before, during, 'log_write_errors_total', { code: 'FLOOD_STAGE' });
    const freeDuringBytes = sum(during, 'disk_free_bytes');
    console.log({
      lagS: sum(during, 'log_ingestion_lag_seconds'),
      blocked,
      freeDuringBytes,
      lagAfterS: sum(after, 'log_ingestion_lag_seconds'),
    });
    expect(blocked).toBeGreaterThan(0);
    expect(freeDuringBytes).toBeLessThan(1024 * 1024);
    expect(delta(during, after, 'log_lines_written_total')).toBeGreaterThan(0);
  });

  it('checkout fd exhaustion fails its calls', async () => {
    const plan = await inject({ type: 'fd_exhaustion', target: 'checkout-svc', fill: 100 });
    const results = await probe(stack.info.probeUrl, 6, 250);
    await rollback(plan);
    const recovered = await eventually(
      () => probeOnce(stack.info.probeUrl),
      (result) => result.status === 200,
      8_000,
    );
    console.log({ statuses: results.map((result) => result.status), recovered });
    expect(successRate(results)).toBe(0);
  });

  it('payment config corruption turns it unhealthy', async () => {
    const healthUrl = `${stack.info.services.find((service) => service.name === 'payment-svc')!.url}/health`;
    const plan = await inject({ type: 'config_corruption', target: 'payment-svc' });
    const unhealthy = await eventually(
      () => probeOnce(healthUrl),
      (result) => result.status === 503,
      5_000,
    );
    const during = await scrape(stack.info, 'payment-svc');
    await rollback(plan);
    await eventually(
      () => probeOnce(healthUrl),
      (result) => result.status === 200,
      5_000,
    );
    expect(unhealthy.status).toBe(503);
    expect(sum(during, 'config_reload_errors_total')).toBeGreaterThan(0);
  });

  it('cache poisoning breaks inventory reads', async () => {
    const before = await scrape(stack.info, 'inventory-svc');
    const plan = await inject({ type: 'cache_poisoning', target: 'cache-svc', share: 1 });
    await sleep(3_000);
    const during = await scrape(stack.info, 'inventory-svc');
    await rollback(plan);
    await sleep(3_000);
    const after = await scrape(stack.info, 'inventory-svc');
    await sleep(3_000);
    const later = await scrape(stack.info, 'inventory-svc');
    const invalidDuring = delta(before, during, 'cache_requests_total', { result: 'invalid' });
    const invalidAfter = delta(after, later, 'cache_requests_total', { result: 'invalid' });
    console.log({ invalidDuring, invalidAfter });
    expect(invalidDuring).toBeGreaterThan(0);
    expect(invalidAfter).toBe(0);
  });

  it('leaves nothing behind after rollback', async () => {
    const stateDir = stack.info.stateDir!;
    expect(cgroupsMatching('cpu', `vitest-chaos-cpu-${context.experimentKey}`)).toEqual([]);
    expect(pidsMatching(context.experimentKey)).toEqual([]);
    for (const service of stack.info.services) {
      const leftovers = readdirSync(service.dataDir!).filter((file) =>
        file.includes('vitest-chaos'),
      );
      expect(leftovers, service.name).toEqual([]);
      expect(existsSync(`${service.configFile}.vitest-chaos-${context.experimentKey}.bak`)).toBe(
        false,
      );
    }
    const paused = (await services()).filter((service) => service.state !== 'running');
    expect(paused).toEqual([]);
    for (const plan of plans) expect(await processDriver.inspect!(plan)).toBe('inactive');
    expect(stateDir).toBeTruthy();
  });
});
