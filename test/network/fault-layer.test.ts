import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFaultLayer, type RunningFaultLayer } from '../../src/harness/fault-layer/index.ts';
import { get, resolveA, runPool, startDnsServer, startHttpService } from './helpers.ts';

const ROUTE = 'checkout-svc__payment-svc';

async function admin(layer: RunningFaultLayer, method: string, pathname: string, body?: unknown) {
  const response = await fetch(`${layer.adminUrl}${pathname}`, {
    method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> };
}

describe('fault layer', () => {
  let service: Awaited<ReturnType<typeof startHttpService>>;
  let dns: Awaited<ReturnType<typeof startDnsServer>>;
  let layer: RunningFaultLayer;
  let routeUrl: string;

  beforeAll(async () => {
    service = await startHttpService('payment ok');
    dns = await startDnsServer();
    layer = await startFaultLayer({
      httpRoutes: [{ name: ROUTE, targetUrl: service.url }],
      dnsForwarders: [{ name: 'checkout-svc', upstream: { host: '127.0.0.1', port: dns.port } }],
    });
    routeUrl = layer.httpRoutes[ROUTE]!.url;
  });

  afterAll(async () => {
    await layer?.stop();
    await service?.close();
    await dns?.close();
  });

  it('forwards requests with no rule', async () => {
    const result = await get(`${routeUrl}/pay`);
    expect(result.status).toBe(200);
    expect(result.bytes).toBe('payment ok'.length);
  });

  it('replays the same 500s for a seed', async () => {
    const rule = { ruleId: 'exp-a', status: 500, probability: 0.2, seed: 42 };
    // One request at a time, so the n-th request gets the n-th draw of the generator.
    const runOnce = async () => {
      expect((await admin(layer, 'PUT', `/http/${ROUTE}`, rule)).status).toBe(200);
      const results = await runPool(300, 1, () => get(`${routeUrl}/pay`));
      return results.map((result) => result.status);
    };
    const first = await runOnce();
    const second = await runOnce();
    const injected = first.filter((status) => status === 500).length;
    console.log(`500s over 300 requests, seed 42: ${injected}`);
    expect(second).toEqual(first);
    // 300 trials at p = 0.2 give a standard deviation of 7 requests; the bounds are 3 of them.
    expect(injected).toBeGreaterThan(39);
    expect(injected).toBeLessThan(81);
    expect(first.every((status) => status === 200 || status === 500)).toBe(true);
    const state = await admin(layer, 'GET', `/http/${ROUTE}`);
    expect((state.body.rule as { injected: number }).injected).toBe(injected);
    await admin(layer, 'DELETE', `/http/${ROUTE}`);
  });

  it('delays requests by delayMs', async () => {
    await admin(layer, 'PUT', `/http/${ROUTE}`, { ruleId: 'slow', delayMs: 150 });
    const slow = await get(`${routeUrl}/pay`);
    await admin(layer, 'DELETE', `/http/${ROUTE}?ruleId=slow`);
    const fast = await get(`${routeUrl}/pay`);
    console.log(
      `delay rule 150 ms: ${slow.elapsedMs.toFixed(1)} ms, after delete ${fast.elapsedMs.toFixed(1)} ms`,
    );
    expect(slow.status).toBe(200);
    expect(slow.elapsedMs).toBeGreaterThanOrEqual(148);
    expect(slow.elapsedMs).toBeLessThan(400);
    expect(fast.elapsedMs).toBeLessThan(100);
  });

  it('aborts responses with abortProbability 1', async () => {
    await admin(layer, 'PUT', `/http/${ROUTE}`, {
      ruleId: 'abort',
      probability: 0,
      abortProbability: 1,
    });
    const aborted = await get(`${routeUrl}/pay`);
    await admin(layer, 'DELETE', `/http/${ROUTE}?ruleId=abort`);
    expect(aborted.status).toBeUndefined();
    expect(aborted.error).toBe('ECONNRESET');
  });

  it('keeps the rule of another ruleId on delete', async () => {
    await admin(layer, 'PUT', `/http/${ROUTE}`, { ruleId: 'one', status: 503 });
    await admin(layer, 'PUT', `/http/${ROUTE}`, { ruleId: 'two', delayMs: 1 });
    const afterDelete = await admin(layer, 'DELETE', `/http/${ROUTE}?ruleId=two`);
    expect(afterDelete.body.removed).toBe(1);
    expect((await get(`${routeUrl}/pay`)).status).toBe(503);
    const again = await admin(layer, 'DELETE', `/http/${ROUTE}?ruleId=two`);
    expect(again.status).toBe(200);
    expect(again.body.removed).toBe(0);
    await admin(layer, 'DELETE', `/http/${ROUTE}`);
    expect((await get(`${routeUrl}/pay`)).status).toBe(200);
    const state = await admin(layer, 'GET', '/state');
    const routes = state.body.httpRoutes as Record<string, { rules: unknown[] }>;
    expect(routes[ROUTE]!.rules).toEqual([]);
  });

  it('rejects an invalid rule with the field and value', async () => {
    const result = await admin(layer, 'PUT', `/http/${ROUTE}`, { ruleId: 'bad', probability: 1.5 });
    expect(result.status).toBe(400);
    expect(String(result.body.error)).toContain('probability');
    expect(String(result.body.error)).toContain('1.5');
    const unknown = await admin(layer, 'GET', '/http/nope__nope');
    expect(unknown.status).toBe(404);
    expect(String(unknown.body.error)).toContain(ROUTE);
  });

  it('delays DNS answers by the rule', async () => {
    const port = layer.dnsForwarders['checkout-svc']!.port;
    const before = await resolveA(port, 'payment-svc');
    await admin(layer, 'PUT', '/dns/checkout-svc', { ruleId: 'dns-a', delayMs: 200 });
    const delayed = await resolveA(port, 'payment-svc');
    await admin(layer, 'DELETE', '/dns/checkout-svc?ruleId=dns-a');
    const after = await resolveA(port, 'payment-svc');
    console.log(
      `dns: before ${before.elapsedMs.toFixed(1)} ms, delayed ${delayed.elapsedMs.toFixed(1)} ms, after ${after.elapsedMs.toFixed(1)} ms`,
    );
    expect(before.address).toBe('127.0.0.1');
    expect(delayed.address).toBe('127.0.0.1');
    expect(delayed.elapsedMs).toBeGreaterThanOrEqual(198);
    expect(delayed.elapsedMs).toBeLessThan(450);
    expect(after.elapsedMs).toBeLessThan(100);
  });
});

describe('fault layer main.ts', () => {
  it('prints one JSON line and exits on SIGTERM', async () => {
    const service = await startHttpService('main ok');
    const folder = await mkdtemp(path.join(tmpdir(), `fault-layer-${process.pid}-`));
    const configPath = path.join(folder, 'config.json');
    await writeFile(
      configPath,
      JSON.stringify({ httpRoutes: [{ name: 'a__b', targetUrl: service.url }], dnsForwarders: [] }),
    );
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'src/harness/fault-layer/main.ts', configPath],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
    try {
      const firstLine = await new Promise<string>((resolve) => {
        createInterface({ input: child.stdout }).once('line', resolve);
      });
      const ready = JSON.parse(firstLine) as {
        adminUrl: string;
        httpRoutes: Record<string, { url: string }>;
      };
      expect((await fetch(`${ready.adminUrl}/health`)).status).toBe(200);
      expect((await get(`${ready.httpRoutes['a__b']!.url}/`)).status).toBe(200);
      child.kill('SIGTERM');
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
      await service.close();
      await rm(folder, { recursive: true, force: true });
    }
  });
});
