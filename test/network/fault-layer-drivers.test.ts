import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dnsDelayDriver } from '../../src/harness/drivers/dns/index.ts';
import { httpFaultProxyDriver } from '../../src/harness/drivers/http-fault-proxy/index.ts';
import { NetworkFaultError } from '../../src/harness/drivers/toxiproxy/errors.ts';
import { startFaultLayer, type RunningFaultLayer } from '../../src/harness/fault-layer/index.ts';
import type { DriverContext, FaultDriver, FaultPlan } from '../../src/harness/faults/driver.ts';
import { faultSchema, type FaultInput } from '../../src/harness/faults/spec.ts';
import { stackInfoSchema, type StackInfo } from '../../src/harness/stack-info.ts';
import {
  EDGE,
  get,
  median,
  PROXY,
  resolveA,
  runPool,
  startDnsServer,
  startHttpService,
} from './helpers.ts';

describe('fault layer drivers', () => {
  let service: Awaited<ReturnType<typeof startHttpService>>;
  let dns: Awaited<ReturnType<typeof startDnsServer>>;
  let layer: RunningFaultLayer;
  let stack: StackInfo;
  let routeUrl: string;
  let dnsPort: number;
  let counter = 0;

  async function inject(driver: FaultDriver, input: FaultInput) {
    const context: DriverContext = { stack, experimentKey: `fl-${process.pid}-${++counter}` };
    const fault = faultSchema.parse(input);
    expect(driver.supports(fault, stack)).toBe(true);
    expect(await driver.checkRequirements(fault, context)).toEqual([]);
    const plan = await driver.plan(fault, context);
    await driver.apply(plan, context);
    return { plan, context };
  }

  async function httpRuleIds(): Promise<string[]> {
    const response = await fetch(`${layer.adminUrl}/http/${PROXY}`);
    const body = (await response.json()) as { rules: { ruleId: string }[] };
    return body.rules.map((rule) => rule.ruleId);
  }

  beforeAll(async () => {
    service = await startHttpService('ok');
    dns = await startDnsServer();
    layer = await startFaultLayer({
      httpRoutes: [{ name: PROXY, targetUrl: service.url }],
      dnsForwarders: [{ name: EDGE.caller, upstream: { host: '127.0.0.1', port: dns.port } }],
    });
    routeUrl = layer.httpRoutes[PROXY]!.url;
    dnsPort = layer.dnsForwarders[EDGE.caller]!.port;
    stack = stackInfoSchema.parse({
      kind: 'process',
      services: [
        { name: EDGE.caller, url: 'http://127.0.0.1:1', port: 1 },
        { name: EDGE.callee, url: service.url, port: service.port },
      ],
      edges: [{ ...EDGE, httpProxyRoute: PROXY }],
      probeUrl: service.url,
      faultLayerUrl: layer.adminUrl,
    });
  });

  afterAll(async () => {
    await layer?.stop();
    await service?.close();
    await dns?.close();
  });

  it('fails 20% of 1,000 calls for cascade_retry', async () => {
    const { plan, context } = await inject(httpFaultProxyDriver, {
      type: 'cascade_retry',
      target: `${EDGE.caller}->${EDGE.callee}`,
      status: 500,
      probability: '20%',
      seed: 42,
    });
    expect((await httpFaultProxyDriver.verify(plan, context)).manifested).toBe(true);
    const results = await runPool(1_000, 16, () => get(`${routeUrl}/pay`));
    const failed = results.filter((result) => result.status === 500).length;
    await httpFaultProxyDriver.rollback(plan, context);
    console.log(`cascade_retry 20%, seed 42: ${failed} of 1,000 calls got 500`);
    expect(failed).toBeGreaterThan(170);
    expect(failed).toBeLessThan(230);
    expect(results.every((result) => result.status === 200 || result.status === 500)).toBe(true);
    expect(await httpRuleIds()).toEqual([]);
    expect(await httpFaultProxyDriver.inspect!(plan)).toBe('inactive');
    const after = await runPool(100, 8, () => get(`${routeUrl}/pay`));
    expect(after.every((result) => result.status === 200)).toBe(true);
  });

  it('slows calls for http_slow and keeps two rules apart', async () => {
    const slow = await inject(httpFaultProxyDriver, {
      type: 'http_slow',
      target: EDGE.callee,
      delay: '80ms',
    });
    const other = await inject(httpFaultProxyDriver, {
      type: 'http_slow',
      target: EDGE.callee,
      delay: '40ms',
    });
    const both = median(
      (await runPool(5, 1, () => get(`${routeUrl}/`))).map((result) => result.elapsedMs),
    );
    await httpFaultProxyDriver.rollback(slow.plan, slow.context);
    const one = median(
      (await runPool(5, 1, () => get(`${routeUrl}/`))).map((result) => result.elapsedMs),
    );
    expect(await httpRuleIds()).toEqual([(other.plan.data as { ruleId: string }).ruleId]);
    await httpFaultProxyDriver.rollback(other.plan, other.context);
    const none = median(
      (await runPool(5, 1, () => get(`${routeUrl}/`))).map((result) => result.elapsedMs),
    );
    console.log(
      `http_slow 80 ms + 40 ms: ${both.toFixed(0)} ms, 40 ms: ${one.toFixed(0)} ms, none: ${none.toFixed(1)} ms`,
    );
    expect(both).toBeGreaterThanOrEqual(118);
    expect(one).toBeGreaterThanOrEqual(39);
    expect(one).toBeLessThan(100);
    expect(none).toBeLessThan(38);
  });

  it('delays DNS answers for dns_latency', async () => {
    const before = await resolveA(dnsPort, EDGE.callee);
    const { plan, context } = await inject(dnsDelayDriver, {
      type: 'dns_latency',
      target: EDGE.caller,
      delay: '250ms',
    });
    const verified = await dnsDelayDriver.verify(plan, context);
    const delayed = await resolveA(dnsPort, EDGE.callee);
    await dnsDelayDriver.rollback(plan, context);
    const after = await resolveA(dnsPort, EDGE.callee);
    console.log(
      `dns_latency 250 ms: before ${before.elapsedMs.toFixed(1)} ms, during ${delayed.elapsedMs.toFixed(1)} ms, after ${after.elapsedMs.toFixed(1)} ms`,
    );
    expect(verified.manifested).toBe(true);
    expect(delayed.address).toBe('127.0.0.1');
    expect(delayed.elapsedMs).toBeGreaterThanOrEqual(248);
    expect(delayed.elapsedMs).toBeLessThan(500);
    expect(after.elapsedMs).toBeLessThan(100);
    expect(await dnsDelayDriver.inspect!(plan)).toBe('inactive');
  });

  it('delays only the callee name for an edge target', async () => {
    const { plan, context } = await inject(dnsDelayDriver, {
      type: 'dns_latency',
      target: `${EDGE.caller}->${EDGE.callee}`,
      delay: 200,
    });
    const callee = await resolveA(dnsPort, `${EDGE.callee}.svc.local`);
    const other = await resolveA(dnsPort, 'inventory-svc');
    await dnsDelayDriver.rollback(plan, context);
    expect(callee.elapsedMs).toBeGreaterThanOrEqual(198);
    expect(other.elapsedMs).toBeLessThan(100);
  });
});

describe('fault layer drivers with a stopped fault layer', () => {
  it('reports a clear rollback error', async () => {
    const service = await startHttpService('ok');
    const layer = await startFaultLayer({
      httpRoutes: [{ name: PROXY, targetUrl: service.url }],
      dnsForwarders: [],
    });
    try {
      const stack = stackInfoSchema.parse({
        kind: 'process',
        services: [{ name: EDGE.callee, url: service.url, port: service.port }],
        edges: [{ ...EDGE, httpProxyRoute: PROXY }],
        probeUrl: service.url,
        faultLayerUrl: layer.adminUrl,
      });
      const context = { stack, experimentKey: 'stopped-layer' };
      const fault = faultSchema.parse({ type: 'http_slow', target: EDGE.callee, delay: 10 });
      const plan = await httpFaultProxyDriver.plan(fault, context);
      await httpFaultProxyDriver.apply(plan, context);
      await layer.stop();
      const error = await httpFaultProxyDriver
        .rollback(plan, context)
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(NetworkFaultError);
      expect((error as NetworkFaultError).message).toContain(layer.adminUrl);
      expect((error as NetworkFaultError).message).toContain('chaos.stopped-layer.http_slow');
      expect(await httpFaultProxyDriver.inspect!(plan)).toBe('unknown');
      const journaled = JSON.parse(JSON.stringify(plan)) as FaultPlan;
      expect(journaled).toEqual(plan);
    } finally {
      await layer.stop();
      await service.close();
    }
  });
});
