import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  NetworkFaultError,
  parseToxiproxyPlan,
  startToxiproxyServer,
  toxiproxyDriver,
  type RunningToxiproxyServer,
} from '../../src/harness/drivers/toxiproxy/index.ts';
import type { DriverContext, FaultPlan } from '../../src/harness/faults/driver.ts';
import { faultSchema, type FaultInput } from '../../src/harness/faults/spec.ts';
import { stackInfoSchema, type StackInfo } from '../../src/harness/stack-info.ts';
import {
  createProxy,
  EDGE,
  get,
  median,
  PROXY,
  proxyState,
  runPool,
  startHttpService,
} from './helpers.ts';

const BODY_BYTES = 64 * 1024;

function buildStack(toxiproxyUrl: string, servicePort: number): StackInfo {
  return stackInfoSchema.parse({
    kind: 'process',
    services: [
      { name: EDGE.caller, url: 'http://127.0.0.1:1', port: 1 },
      {
        name: EDGE.callee,
        url: `http://127.0.0.1:${servicePort}`,
        port: servicePort,
        healthPath: '/health',
      },
    ],
    edges: [{ ...EDGE, toxiproxyProxy: PROXY }],
    probeUrl: 'http://127.0.0.1:1/',
    toxiproxyUrl,
  });
}

describe('toxiproxyDriver', () => {
  let server: RunningToxiproxyServer;
  let service: Awaited<ReturnType<typeof startHttpService>>;
  let stack: StackInfo;
  let proxyUrl: string;
  const active: { plan: FaultPlan; context: DriverContext }[] = [];
  let keyCounter = 0;

  async function inject(input: FaultInput, experimentKey = `exp-${process.pid}-${++keyCounter}`) {
    const context: DriverContext = { stack, experimentKey };
    const fault = faultSchema.parse(input);
    const plan = await toxiproxyDriver.plan(fault, context);
    active.push({ plan, context });
    await toxiproxyDriver.apply(plan, context);
    return { plan, context };
  }

  async function sample(count: number, path = '/health') {
    const results = await runPool(count, 1, () => get(`${proxyUrl}${path}`));
    return results;
  }

  beforeAll(async () => {
    server = await startToxiproxyServer();
    service = await startHttpService(Buffer.alloc(BODY_BYTES, 'x'));
    const listen = await createProxy(server.url, PROXY, `127.0.0.1:${service.port}`);
    proxyUrl = `http://${listen}`;
    stack = buildStack(server.url, service.port);
  });

  afterEach(async () => {
    for (const { plan, context } of active.splice(0)) await toxiproxyDriver.rollback(plan, context);
    const state = await proxyState(server.url, PROXY);
    expect(state.toxics).toEqual([]);
    expect(state.enabled).toBe(true);
  });

  afterAll(async () => {
    await server?.stop();
    await service?.close();
  });

  it('adds latency within tolerance and removes it', async () => {
    const baseline = median((await sample(5)).map((result) => result.elapsedMs));
    const { plan, context } = await inject({
      type: 'latency',
      target: EDGE.callee,
      latency: '100ms',
    });
    const verified = await toxiproxyDriver.verify(plan, context);
    const slowSamples = (await sample(5)).map((result) => result.elapsedMs);
    const slow = median(slowSamples);
    await toxiproxyDriver.rollback(plan, context);
    const after = median((await sample(5)).map((result) => result.elapsedMs));
    console.log(
      `latency 100ms: baseline ${baseline.toFixed(1)} ms, with toxic ${slow.toFixed(1)} ms, after ${after.toFixed(1)} ms`,
    );
    expect(verified.manifested).toBe(true);
    // Load on the machine only adds time, so every request carries the whole 100 ms, and the
    // median may exceed the unloaded one by a little more.
    expect(Math.min(...slowSamples)).toBeGreaterThanOrEqual(98);
    expect(slow - Math.min(baseline, after)).toBeLessThan(180);
    expect(after).toBeLessThan(slow - 70);
    expect(await toxiproxyDriver.inspect!(plan)).toBe('inactive');
  });

  it('adds latency on both directions', async () => {
    const { plan } = await inject({
      type: 'latency',
      target: `${EDGE.caller}->${EDGE.callee}`,
      latency: 60,
      jitter: 10,
      direction: 'both',
    });
    expect(
      parseToxiproxyPlan(plan)
        .toxics.map((toxic) => toxic.stream)
        .sort(),
    ).toEqual(['downstream', 'upstream']);
    const elapsed = (await sample(6)).map((result) => result.elapsedMs);
    console.log(`latency 60ms +/- 10ms both ways: median ${median(elapsed).toFixed(1)} ms`);
    expect(Math.min(...elapsed)).toBeGreaterThanOrEqual(98);
    expect(median(elapsed)).toBeLessThan(220);
  });

  it('fails about the set share of connections', async () => {
    const { plan } = await inject({ type: 'network_loss', target: EDGE.callee, probability: 0.3 });
    expect(plan.mechanism).toContain('per connection, not per packet');
    const results = await runPool(800, 8, () => get(`${proxyUrl}/health`));
    const failed = results.filter((result) => result.status !== 200).length / results.length;
    console.log(`network_loss 30%: ${(failed * 100).toFixed(1)}% of 800 connections failed`);
    // 800 trials at p = 0.3 give a standard deviation of 1.6 points; the bounds are 3.7 of them.
    expect(failed).toBeGreaterThan(0.24);
    expect(failed).toBeLessThan(0.36);
  });

  it('makes a partitioned call hang until timeout', async () => {
    const { plan, context } = await inject({
      type: 'network_partition',
      target: EDGE.callee,
      between: [EDGE.caller, EDGE.callee],
    });
    const hung = await get(`${proxyUrl}/health`, 500);
    const verified = await toxiproxyDriver.verify(plan, context);
    await toxiproxyDriver.rollback(plan, context);
    const after = await get(`${proxyUrl}/health`);
    console.log(`partition: call ended after ${hung.elapsedMs.toFixed(0)} ms with ${hung.error}`);
    expect(hung.error).toBe('timeout');
    expect(hung.elapsedMs).toBeGreaterThanOrEqual(490);
    expect(verified.manifested).toBe(true);
    expect(after.status).toBe(200);
  });

  it('caps bandwidth', async () => {
    await inject({ type: 'bandwidth', target: EDGE.callee, rate_kbps: 256 });
    const [result] = await sample(1, '/');
    const rateKBps = BODY_BYTES / 1024 / (result!.elapsedMs / 1000);
    console.log(
      `bandwidth 256 KB/s: ${BODY_BYTES / 1024} KB in ${result!.elapsedMs.toFixed(0)} ms = ${rateKBps.toFixed(0)} KB/s`,
    );
    expect(result!.bytes).toBe(BODY_BYTES);
    expect(rateKBps).toBeGreaterThan(150);
    expect(rateKBps).toBeLessThan(300);
  });

  it('refuses connections while down', async () => {
    const { plan, context } = await inject({ type: 'down', target: EDGE.callee });
    const refused = await get(`${proxyUrl}/health`);
    const verified = await toxiproxyDriver.verify(plan, context);
    expect(refused.error).toBe('ECONNREFUSED');
    expect(verified.manifested).toBe(true);
    expect((await proxyState(server.url, PROXY)).enabled).toBe(false);
  });

  it('resets connections', async () => {
    const { plan, context } = await inject({ type: 'connection_reset', target: EDGE.callee });
    const reset = await get(`${proxyUrl}/health`);
    const verified = await toxiproxyDriver.verify(plan, context);
    expect(reset.error).toBe('ECONNRESET');
    expect(verified.manifested).toBe(true);
  });

  it('reports a toxic removed behind its back', async () => {
    const { plan, context } = await inject({ type: 'latency', target: EDGE.callee, latency: 5 });
    const [toxic] = parseToxiproxyPlan(plan).toxics;
    await fetch(`${server.url}/proxies/${PROXY}/toxics/${toxic!.name}`, { method: 'DELETE' });
    const verified = await toxiproxyDriver.verify(plan, context);
    expect(verified.manifested).toBe(false);
    expect(verified.detail).toContain(toxic!.name);
  });

  it('keeps two experiments on one edge apart', async () => {
    const first = await inject({ type: 'latency', target: EDGE.callee, latency: 60 });
    await inject({ type: 'latency', target: EDGE.callee, latency: 60 });
    const both = median((await sample(3)).map((result) => result.elapsedMs));
    await toxiproxyDriver.rollback(first.plan, first.context);
    const one = median((await sample(3)).map((result) => result.elapsedMs));
    console.log(
      `two 60 ms latency toxics: ${both.toFixed(0)} ms, after one rollback ${one.toFixed(0)} ms`,
    );
    expect((await proxyState(server.url, PROXY)).toxics).toHaveLength(1);
    expect(both).toBeGreaterThanOrEqual(115);
    expect(one).toBeGreaterThanOrEqual(55);
    expect(one).toBeLessThan(both - 40);
  });

  it('injects over a stale toxic and cleans it from its plan', async () => {
    const crashed = await inject(
      { type: 'latency', target: EDGE.callee, latency: 20 },
      'crashed-run',
    );
    const journaled = JSON.parse(JSON.stringify(crashed.plan)) as FaultPlan;
    active.splice(0);
    await inject({ type: 'latency', target: EDGE.callee, latency: 20 }, 'next-run');
    // The same key again, as after a crash and rerun: the toxic is updated, not rejected.
    await inject({ type: 'latency', target: EDGE.callee, latency: 30 }, 'next-run');
    expect((await proxyState(server.url, PROXY)).toxics.map((toxic) => toxic.name).sort()).toEqual([
      'chaos.crashed-run.latency.downstream',
      'chaos.next-run.latency.downstream',
    ]);
    await toxiproxyDriver.rollback(journaled, { experimentKey: 'cleanup' });
    expect((await proxyState(server.url, PROXY)).toxics.map((toxic) => toxic.name)).toEqual([
      'chaos.next-run.latency.downstream',
    ]);
  });

  it('lists missing requirements', async () => {
    const fault = faultSchema.parse({ type: 'latency', target: EDGE.callee, latency: 10 });
    const noUrl = await toxiproxyDriver.checkRequirements(fault, {
      stack: { ...stack, toxiproxyUrl: undefined },
      experimentKey: 'k',
    });
    expect(noUrl.map((item) => item.what)).toEqual(['toxiproxy']);
    const unreachable = await toxiproxyDriver.checkRequirements(fault, {
      stack: { ...stack, toxiproxyUrl: 'http://127.0.0.1:1' },
      experimentKey: 'k',
    });
    expect(unreachable.map((item) => item.what)).toEqual(['toxiproxy-server']);
    expect(unreachable[0]!.fix).toContain('install-toxiproxy.sh');
    const ready = await toxiproxyDriver.checkRequirements(fault, { stack, experimentKey: 'k' });
    expect(ready).toEqual([]);
    expect(
      toxiproxyDriver.supports(
        faultSchema.parse({
          type: 'network_loss',
          target: EDGE.callee,
          probability: 0.1,
          mechanism: 'packet',
        }),
        stack,
      ),
    ).toBe(false);
    expect(toxiproxyDriver.supports(fault, stack)).toBe(true);
    const unknown = faultSchema.parse({ type: 'latency', target: 'nobody', latency: 10 });
    expect(toxiproxyDriver.supports(unknown, stack)).toBe(false);
    const error = await toxiproxyDriver
      .plan(unknown, { stack, experimentKey: 'k' })
      .catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(NetworkFaultError);
    expect((error as NetworkFaultError).message).toContain('checkout-svc->payment-svc');
  });
});

describe('toxiproxyDriver with a dying server', () => {
  it('reports a clear rollback error and keeps a valid plan', async () => {
    const server = await startToxiproxyServer();
    const service = await startHttpService('ok');
    try {
      await createProxy(server.url, PROXY, `127.0.0.1:${service.port}`);
      const stack = buildStack(server.url, service.port);
      const context = { stack, experimentKey: `dying-${process.pid}` };
      const plan = await toxiproxyDriver.plan(
        faultSchema.parse({ type: 'latency', target: EDGE.callee, latency: 50 }),
        context,
      );
      await toxiproxyDriver.apply(plan, context);
      await server.stop();
      const error = await toxiproxyDriver
        .rollback(plan, context)
        .catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(NetworkFaultError);
      expect((error as NetworkFaultError).reason).toBe('toxiproxy-request-failed');
      expect((error as NetworkFaultError).message).toContain(server.url);
      expect((error as NetworkFaultError).message).toContain('chaos.dying-');
      expect(await toxiproxyDriver.inspect!(plan)).toBe('unknown');
      const journaled = JSON.parse(JSON.stringify(plan)) as FaultPlan;
      expect(parseToxiproxyPlan(journaled)).toEqual(parseToxiproxyPlan(plan));
      // A server started again on the same port has no toxics, so the rollback now succeeds.
      await using restarted = await startToxiproxyServer({ port: server.port });
      await createProxy(restarted.url, PROXY, `127.0.0.1:${service.port}`);
      await toxiproxyDriver.rollback(journaled, { experimentKey: 'cleanup' });
      expect((await proxyState(restarted.url, PROXY)).toxics).toEqual([]);
    } finally {
      await server.stop();
      await service.close();
    }
  });
});
