import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SteadyStateError } from '../../src/harness/steady/errors.ts';
import {
  histogramBuckets,
  histogramQuantile,
  parseMetricsText,
} from '../../src/harness/steady/metrics-text.ts';
import { createMetricsSampler, servicePrefixes } from '../../src/harness/steady/sampler.ts';
import { stackOf, startTestService, type TestService } from './helpers.ts';

async function get(url: string, times: number): Promise<void> {
  for (let index = 0; index < times; index += 1) await (await fetch(url)).arrayBuffer();
}

describe('histogramQuantile', () => {
  it('interpolates inside the bucket like PromQL', () => {
    // 100 observations: 90 at or below 0.1 s, 10 between 0.1 s and 0.5 s.
    const buckets = new Map([
      [0.1, 90],
      [0.5, 100],
      [Number.POSITIVE_INFINITY, 100],
    ]);
    // Rank 99 is the 9th of 10 observations in (0.1, 0.5]: 0.1 + 0.4 * 9 / 10.
    expect(histogramQuantile(0.99, buckets)).toBeCloseTo(0.46, 10);
    expect(histogramQuantile(0.5, buckets)).toBeCloseTo((0.1 * 50) / 90, 10);
  });

  it('returns the largest finite bound for the +Inf bucket', () => {
    const buckets = new Map([
      [0.1, 1],
      [Number.POSITIVE_INFINITY, 100],
    ]);
    expect(histogramQuantile(0.99, buckets)).toBe(0.1);
  });

  it('returns undefined without observations', () => {
    expect(histogramQuantile(0.99, new Map([[Number.POSITIVE_INFINITY, 0]]))).toBeUndefined();
    expect(histogramQuantile(0.99, new Map())).toBeUndefined();
  });
});

describe('parseMetricsText', () => {
  it('keeps the buckets of every label set', () => {
    const text = [
      '# TYPE h histogram',
      'h_bucket{le="0.1",route="/a"} 1',
      'h_bucket{le="+Inf",route="/a"} 2',
      'h_sum{route="/a"} 0.3',
      'h_count{route="/a"} 2',
      'h_bucket{le="0.1",route="/b"} 3',
      'h_bucket{le="+Inf",route="/b"} 3',
      '',
    ].join('\n');
    const buckets = histogramBuckets(parseMetricsText(text), 'h');
    expect(buckets.get(0.1)).toBe(4);
    expect(buckets.get(Number.POSITIVE_INFINITY)).toBe(5);
  });

  it.each([
    ['an HTML page', '<html><body>502 Bad Gateway</body></html>'],
    ['an empty body', ''],
    ['a broken label set', '# TYPE x gauge\nx{a="1" 2\n'],
  ])('rejects %s', (_name, text) => {
    expect(() => parseMetricsText(text)).toThrow(SteadyStateError);
    try {
      parseMetricsText(text);
    } catch (error) {
      expect((error as SteadyStateError).code).toBe('METRICS_INVALID');
    }
  });
});

describe('servicePrefixes', () => {
  it('drops the -svc suffix as an alias', () => {
    expect(servicePrefixes('checkout-svc')).toEqual(['checkout_svc', 'checkout']);
    expect(servicePrefixes('api-gateway')).toEqual(['api_gateway']);
  });
});

describe('createMetricsSampler', () => {
  let checkout: TestService;
  let payment: TestService;

  beforeAll(async () => {
    checkout = await startTestService('checkout-svc');
    payment = await startTestService('payment-db');
  });
  afterAll(async () => {
    await checkout.stop();
    await payment.stop();
  });

  it('computes p99 and error rate from deltas', async () => {
    const sampler = createMetricsSampler({ stack: stackOf([checkout, payment]), windowMs: 60_000 });
    // Traffic before the first scrape must not count: only the deltas after it do.
    checkout.behaviour.status = 500;
    await get(`${checkout.url}/work`, 20);
    checkout.behaviour.status = 200;
    await sampler.sample();
    await get(`${checkout.url}/work`, 99);
    checkout.behaviour.status = 503;
    await get(`${checkout.url}/work`, 1);
    checkout.behaviour.status = 200;
    checkout.behaviour.delayMs = 300;
    await get(`${checkout.url}/work`, 2);
    checkout.behaviour.delayMs = 0;
    const values = await sampler.sample();
    // 102 requests, 2 of them slower than 0.25 s: rank 100.98 falls in the (0.25, 0.5] bucket.
    expect(values.checkout_svc_error_rate).toBeCloseTo((1 / 102) * 100, 6);
    expect(values.checkout_error_rate).toBe(values.checkout_svc_error_rate);
    expect(values.checkout_p99).toBeGreaterThan(250);
    expect(values.checkout_p99).toBeLessThanOrEqual(500);
    expect(values.checkout_svc_up).toBe(1);
    expect(values.payment_db_up).toBe(1);
    expect(values.payment_db_p99).toBeUndefined();
    expect(values['checkout_svc:test_queue_depth']).toBe(checkout.gaugeValues.at(-1));
  });

  it('reports up 0 for a garbage endpoint', async () => {
    const sampler = createMetricsSampler({ stack: stackOf([checkout, payment]) });
    payment.behaviour.garbageMetrics = true;
    try {
      const [checkoutSample, paymentSample] = await sampler.sampleServices();
      expect(checkoutSample?.up).toBe(1);
      expect(paymentSample?.up).toBe(0);
      expect(paymentSample?.error).toContain('no Prometheus sample');
      expect(paymentSample?.p99Ms).toBeUndefined();
    } finally {
      payment.behaviour.garbageMetrics = false;
    }
  });

  it('reports up 0 for a stopped service and recovers after a restart', async () => {
    const doomed = await startTestService('cart-svc');
    const stack = stackOf([doomed]);
    const sampler = createMetricsSampler({ stack, windowMs: 60_000 });
    await get(`${doomed.url}/work`, 10);
    expect((await sampler.sample()).cart_up).toBe(1);
    await doomed.stop();
    const down = await sampler.sampleServices();
    expect(down[0]?.up).toBe(0);
    expect(down[0]?.error).toMatch(/fetch failed|ECONNREFUSED/);
    // A new process on another port has fresh counters: the sampler must not report negative deltas.
    const reborn = await startTestService('cart-svc');
    try {
      stack.services[0]!.url = reborn.url;
      await get(`${reborn.url}/work`, 3);
      const values = await sampler.sample();
      expect(values.cart_up).toBe(1);
      expect(values.cart_error_rate).toBe(0);
      expect(values.cart_p99).toBeGreaterThan(0);
    } finally {
      await reborn.stop();
    }
  });
});
