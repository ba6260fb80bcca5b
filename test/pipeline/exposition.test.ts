import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { parseExposition, sumSamples } from '../../fixtures/pipeline/exposition.ts';
import {
  countAbove,
  quantile,
  readBuckets,
  subtractBuckets,
} from '../../fixtures/pipeline/histogram.ts';
import { LATENCY_BUCKETS_S } from './support/world.ts';

describe('parseExposition', () => {
  it('reads labels with escapes and special values', () => {
    const index = parseExposition(
      [
        '# HELP x help',
        'x{a="1",b="q\\"uote"} 3',
        'x{a="2"} +Inf',
        'y 4 1700000000000',
        'broken{a=1} 2',
        '',
      ].join('\n'),
    );
    expect(index.get('x')).toEqual([
      { name: 'x', labels: { a: '1', b: 'q"uote' }, value: 3 },
      { name: 'x', labels: { a: '2' }, value: Infinity },
    ]);
    expect(sumSamples(index, 'y')).toBe(4);
    expect(index.has('broken')).toBe(false);
  });
});

describe('histogram quantiles', () => {
  it('estimates p99 and counts slow observations from deltas', async () => {
    const registry = new Registry();
    const histogram = new Histogram({
      name: 'lat_seconds',
      help: 'h',
      labelNames: ['route'],
      buckets: LATENCY_BUCKETS_S,
      registers: [registry],
    });
    for (let i = 0; i < 100; i += 1) histogram.observe({ route: '/a' }, 0.02);
    const before = readBuckets(parseExposition(await registry.metrics()), 'lat_seconds').get('')!;
    for (let i = 0; i < 90; i += 1) histogram.observe({ route: '/a' }, 0.02);
    for (let i = 0; i < 10; i += 1) histogram.observe({ route: '/b' }, 0.6);
    const after = readBuckets(parseExposition(await registry.metrics()), 'lat_seconds').get('')!;
    const delta = subtractBuckets(after, before)!;
    expect(quantile(delta, 0.5)).toBeGreaterThan(0.01);
    expect(quantile(delta, 0.5)).toBeLessThanOrEqual(0.025);
    expect(quantile(delta, 0.99)).toBeGreaterThan(0.5);
    expect(quantile(delta, 0.99)).toBeLessThanOrEqual(0.8);
    expect(countAbove(delta, 0.1)).toBe(10);
  });

  it('refuses deltas across a counter reset', () => {
    const later = { bounds: [0.1, Infinity], counts: [1, 1] };
    const earlier = { bounds: [0.1, Infinity], counts: [5, 6] };
    expect(subtractBuckets(later, earlier)).toBeUndefined();
  });
});
