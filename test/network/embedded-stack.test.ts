import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startStack, type RunningStack } from '../../fixtures/stack/index.ts';
import { dnsDelayDriver } from '../../src/harness/drivers/dns/index.ts';
import { httpFaultProxyDriver } from '../../src/harness/drivers/http-fault-proxy/index.ts';
import {
  startToxiproxyServer,
  toxiproxyDriver,
  type RunningToxiproxyServer,
} from '../../src/harness/drivers/toxiproxy/index.ts';
import type { DriverContext, FaultDriver } from '../../src/harness/faults/driver.ts';
import { faultSchema, type FaultInput } from '../../src/harness/faults/spec.ts';
import { get, median, runPool } from './helpers.ts';

describe('network drivers on the embedded stack', () => {
  let toxiproxy: RunningToxiproxyServer;
  let stack: RunningStack;

  async function withFault<T>(driver: FaultDriver, input: FaultInput, body: () => Promise<T>) {
    const context: DriverContext = {
      stack: stack.info,
      experimentKey: `stack-${process.pid}-${input.type}`,
    };
    const fault = faultSchema.parse(input);
    expect(driver.supports(fault, stack.info)).toBe(true);
    expect(await driver.checkRequirements(fault, context)).toEqual([]);
    const plan = await driver.plan(fault, context);
    await driver.apply(plan, context);
    try {
      const verified = await driver.verify(plan, context);
      return { verified, result: await body() };
    } finally {
      await driver.rollback(plan, context);
    }
  }

  async function probeMedianMs(): Promise<number> {
    const results = await runPool(5, 1, () => get(stack.info.probeUrl, 5_000));
    return median(results.map((result) => result.elapsedMs));
  }

  beforeAll(async () => {
    toxiproxy = await startToxiproxyServer();
    stack = await startStack({ toxiproxyUrl: toxiproxy.url, workload: false });
  }, 60_000);

  afterAll(async () => {
    await stack?.stop();
    await toxiproxy?.stop();
  });

  it('slows the probe with latency on payment-svc', async () => {
    // The first calls after start pay for JIT compilation and connection setup.
    await probeMedianMs();
    const before = await probeMedianMs();
    const { verified, result: during } = await withFault(
      toxiproxyDriver,
      { type: 'latency', target: 'payment-svc', latency: '500ms' },
      probeMedianMs,
    );
    const after = await probeMedianMs();
    console.log(
      `stack probe: ${before.toFixed(0)} ms, with 500 ms on payment-svc ${during.toFixed(0)} ms, after ${after.toFixed(0)} ms`,
    );
    expect(verified.manifested).toBe(true);
    // The probe's own latency varies by tens of ms on a loaded machine, hence the wide bounds.
    expect(during - Math.max(before, after)).toBeGreaterThanOrEqual(400);
    expect(after).toBeLessThan(during - 400);
    const proxies = (await (await fetch(`${toxiproxy.url}/proxies`)).json()) as Record<
      string,
      { toxics: unknown[] }
    >;
    expect(Object.values(proxies).flatMap((proxy) => proxy.toxics)).toEqual([]);
  });

  it('injects 500s on checkout-svc to payment-svc', async () => {
    const route = 'checkout-svc__payment-svc';
    const { verified, result } = await withFault(
      httpFaultProxyDriver,
      {
        type: 'cascade_retry',
        target: 'checkout-svc->payment-svc',
        status: 500,
        probability: 1,
        seed: 7,
      },
      async () => {
        await runPool(3, 1, () => get(stack.info.probeUrl, 5_000));
        const response = await fetch(`${stack.info.faultLayerUrl}/http/${route}`);
        return (await response.json()) as { rule: { injected: number } };
      },
    );
    expect(verified.manifested).toBe(true);
    expect(result.rule.injected).toBeGreaterThanOrEqual(3);
    const state = (await (await fetch(`${stack.info.faultLayerUrl}/http/${route}`)).json()) as {
      rules: unknown[];
    };
    expect(state.rules).toEqual([]);
  });

  it('delays DNS answers of checkout-svc', async () => {
    const { verified } = await withFault(
      dnsDelayDriver,
      { type: 'dns_latency', target: 'checkout-svc', delay: '300ms' },
      async () => undefined,
    );
    console.log(`stack dns_latency verify: ${verified.detail}`);
    expect(verified.manifested).toBe(true);
    const state = (await (await fetch(`${stack.info.faultLayerUrl}/dns/checkout-svc`)).json()) as {
      rules: unknown[];
    };
    expect(state.rules).toEqual([]);
  });
});
