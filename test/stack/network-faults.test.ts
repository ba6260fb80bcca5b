import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type RunningStack } from '../../fixtures/stack/index.ts';
import { LOOKUP_TIMEOUT_MS } from '../../fixtures/stack/runtime/resolver.ts';
import { startToxiproxyServer } from '../../src/harness/drivers/toxiproxy/server.ts';
import {
  delta,
  eventually,
  meanBetween,
  pidsMatching,
  probe,
  probeOnce,
  quantileBetween,
  scrape,
  sleep,
  successRate,
  windows,
} from './helpers.ts';

// Network faults are applied here straight through the Toxiproxy API and the fault-layer admin
// API, so these tests check the stack's wiring and behaviour independently of the drivers.
let toxiproxy: Awaited<ReturnType<typeof startToxiproxyServer>>;
let stack: RunningStack;
const LATENCY = 'http_server_request_duration_seconds';
const cleanups: (() => Promise<void>)[] = [];

async function send(url: string, method: string, body?: unknown): Promise<void> {
  const response = await fetch(url, {
    method,
    headers: { 'content-type': 'application/json' },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await response.text();
  if (!response.ok && response.status !== 404)
    throw new Error(`${method} ${url}: ${response.status} ${text}`);
}

/** Adds a toxic to proxies and returns the function that removes it. */
async function addToxic(
  proxies: string[],
  toxic: Record<string, unknown>,
): Promise<() => Promise<void>> {
  for (const proxy of proxies)
    await send(`${toxiproxy.url}/proxies/${proxy}/toxics`, 'POST', toxic);
  const remove = async () => {
    for (const proxy of proxies)
      await send(`${toxiproxy.url}/proxies/${proxy}/toxics/${String(toxic.name)}`, 'DELETE');
  };
  cleanups.push(remove);
  return remove;
}

/** Sets a fault-layer rule and returns the function that removes it. */
async function setRule(
  kind: 'http' | 'dns',
  name: string,
  rule: Record<string, unknown>,
): Promise<() => Promise<void>> {
  const url = `${stack.info.faultLayerUrl}/${kind}/${name}`;
  await send(url, 'PUT', rule);
  const remove = () => send(url, 'DELETE');
  cleanups.push(remove);
  return remove;
}

async function toxicCount(proxy: string): Promise<number> {
  const response = await fetch(`${toxiproxy.url}/proxies/${proxy}/toxics`);
  return ((await response.json()) as unknown[]).length;
}

beforeAll(async () => {
  toxiproxy = await startToxiproxyServer();
  stack = await startStack({ toxiproxyUrl: toxiproxy.url, workload: { ratePerSecond: 6 } });
  await sleep(2_000);
});

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
  const stateDir = stack?.info.stateDir ?? 'none';
  await stack?.stop();
  await toxiproxy?.stop();
  expect(pidsMatching(stateDir)).toEqual([]);
});

describe('embedded stack under network faults', () => {
  it('starts with every edge behind Toxiproxy', async () => {
    const response = await fetch(`${toxiproxy.url}/proxies`);
    const proxies = Object.keys((await response.json()) as Record<string, unknown>);
    expect(proxies.sort()).toEqual(stack.info.edges.map((edge) => edge.toxiproxyProxy).sort());
    expect(stack.info.services).toHaveLength(13);
    expect(successRate(await probe(stack.info.probeUrl, 40, 250))).toBe(1);
  });

  it('payment latency slows checkout and gateway', async () => {
    const names = ['checkout-svc', 'api-gateway'];
    const base = await windows(stack.info, names, 4_000);
    const remove = await addToxic(['api-gateway__payment-svc', 'checkout-svc__payment-svc'], {
      name: 'slow-payment',
      type: 'latency',
      stream: 'downstream',
      attributes: { latency: 400, jitter: 0 },
    });
    const hot = await windows(stack.info, names, 5_000);
    await remove();
    // Requests that started under the toxic finish within its 400 ms; skip them.
    await sleep(1_000);
    const after = await windows(stack.info, names, 4_000);
    const mean = (w: typeof base, service: string) =>
      meanBetween(w[service]!.before, w[service]!.after, LATENCY, { route: '/checkout' }) * 1e3;
    const measured = {
      checkoutBaseMs: mean(base, 'checkout-svc'),
      checkoutHotMs: mean(hot, 'checkout-svc'),
      checkoutAfterMs: mean(after, 'checkout-svc'),
      gatewayBaseMs: mean(base, 'api-gateway'),
      gatewayHotMs: mean(hot, 'api-gateway'),
    };
    console.log(measured);
    expect(measured.checkoutHotMs).toBeGreaterThan(measured.checkoutBaseMs + 300);
    expect(measured.gatewayHotMs).toBeGreaterThan(measured.gatewayBaseMs + 300);
    expect(measured.checkoutAfterMs).toBeLessThan(measured.checkoutBaseMs + 100);
    expect(await toxicCount('checkout-svc__payment-svc')).toBe(0);
  });

  it('payment connection loss raises caller errors', async () => {
    const names = ['api-gateway', 'checkout-svc'];
    const remove = await addToxic(['api-gateway__payment-svc', 'checkout-svc__payment-svc'], {
      name: 'lossy-payment',
      type: 'reset_peer',
      stream: 'downstream',
      toxicity: 0.5,
      attributes: { timeout: 0 },
    });
    // The gateway calls payment-svc only a few times a second, so the window is long enough that
    // at 50% loss a run without a single failed call is vanishingly rare.
    const hot = await windows(stack.info, names, 15_000);
    await remove();
    await sleep(500);
    const after = await windows(stack.info, names, 4_000);
    const errors = (w: typeof hot, service: string) =>
      delta(w[service]!.before, w[service]!.after, 'http_client_requests_total', {
        peer: 'payment-svc',
        status: 'error',
      });
    const payFailures = delta(
      hot['api-gateway']!.before,
      hot['api-gateway']!.after,
      'http_server_requests_total',
      {
        route: '/pay',
        status: '502',
      },
    );
    const measured = {
      gatewayErrors: errors(hot, 'api-gateway'),
      checkoutErrors: errors(hot, 'checkout-svc'),
      payFailures,
      errorsAfter: errors(after, 'api-gateway') + errors(after, 'checkout-svc'),
    };
    console.log(measured);
    expect(measured.checkoutErrors).toBeGreaterThan(0);
    expect(measured.gatewayErrors + measured.payFailures).toBeGreaterThan(0);
    expect(measured.errorsAfter).toBe(0);
  });

  it('frontend to gateway partition times out at the edge', async () => {
    const remove = await addToxic(['frontend__api-gateway'], {
      name: 'partition',
      type: 'timeout',
      stream: 'upstream',
      attributes: { timeout: 0 },
    });
    const before = await scrape(stack.info, 'frontend');
    const results = await probe(stack.info.probeUrl, 4, 250, 6_000);
    const during = await scrape(stack.info, 'frontend');
    await remove();
    const recovered = await eventually(
      () => probeOnce(stack.info.probeUrl),
      (result) => result.status === 200,
      8_000,
    );
    const timeouts = delta(before, during, 'http_client_requests_total', {
      peer: 'api-gateway',
      status: 'timeout',
    });
    console.log({ results, timeouts, recovered });
    expect(results.every((result) => result.status === 504)).toBe(true);
    expect(Math.min(...results.map((result) => result.durationMs))).toBeGreaterThan(2_900);
    expect(timeouts).toBeGreaterThanOrEqual(4);
  });

  it('slow DNS makes checkout fail intermittently', async () => {
    const remove = await setRule('dns', 'checkout-svc', { delayMs: 2_000, ruleId: 'slow-dns' });
    const hot = await windows(stack.info, ['checkout-svc'], 500);
    const results = await probe(stack.info.probeUrl, 40, 250, 6_000);
    const end = await scrape(stack.info, 'checkout-svc');
    await remove();
    await sleep(4_000);
    const after = await probe(stack.info.probeUrl, 20, 250);
    const checkout = hot['checkout-svc']!;
    const measured = {
      successDuring: successRate(results),
      successAfter: successRate(after),
      timeouts: delta(checkout.before, end, 'http_client_requests_total', { status: 'timeout' }),
      lookupP99S: quantileBetween(checkout.before, end, 'dns_lookup_duration_seconds', 0.99),
    };
    console.log(measured);
    expect(measured.successDuring).toBeGreaterThan(0);
    expect(measured.successDuring).toBeLessThan(1);
    expect(measured.timeouts).toBeGreaterThan(0);
    // A lookup that times out counts at the timeout, when its caller gives up.
    expect(measured.lookupP99S).toBeGreaterThanOrEqual(LOOKUP_TIMEOUT_MS / 1_000);
    expect(measured.successAfter).toBe(1);
  });

  it('payment 500s make checkout retry', async () => {
    const base = await windows(stack.info, ['checkout-svc'], 4_000);
    const remove = await setRule('http', 'checkout-svc__payment-svc', {
      status: 500,
      probability: 0.2,
      seed: 7,
      ruleId: 'cascade',
    });
    const hot = await windows(stack.info, ['checkout-svc'], 6_000);
    await remove();
    const after = await windows(stack.info, ['checkout-svc'], 4_000);
    const perCheckout = (w: typeof base) => {
      const calls = delta(
        w['checkout-svc']!.before,
        w['checkout-svc']!.after,
        'http_client_requests_total',
        {
          peer: 'payment-svc',
        },
      );
      const served = delta(
        w['checkout-svc']!.before,
        w['checkout-svc']!.after,
        'http_server_requests_total',
        {
          route: '/checkout',
        },
      );
      return calls / served;
    };
    const retries = (w: typeof base) =>
      delta(w['checkout-svc']!.before, w['checkout-svc']!.after, 'http_client_retries_total', {
        peer: 'payment-svc',
      });
    const measured = {
      callsPerCheckoutBase: perCheckout(base),
      callsPerCheckoutHot: perCheckout(hot),
      retriesHot: retries(hot),
      retriesAfter: retries(after),
      status500: delta(
        hot['checkout-svc']!.before,
        hot['checkout-svc']!.after,
        'http_client_requests_total',
        {
          peer: 'payment-svc',
          status: '500',
        },
      ),
    };
    console.log(measured);
    expect(measured.callsPerCheckoutBase).toBe(1);
    expect(measured.callsPerCheckoutHot).toBeGreaterThan(1.1);
    expect(measured.retriesHot).toBeGreaterThan(0);
    expect(measured.status500).toBeGreaterThan(0);
    expect(measured.retriesAfter).toBe(0);
  });
});
