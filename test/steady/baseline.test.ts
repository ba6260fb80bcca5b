import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  captureBaseline,
  loadBaseline,
  nearestRankP99,
  saveBaseline,
  type Baseline,
} from '../../src/harness/steady/baseline.ts';
import { SteadyStateError } from '../../src/harness/steady/errors.ts';
import {
  stackOf,
  startLoad,
  startTestService,
  temporaryFolder,
  waitUntil,
  type TestService,
} from './helpers.ts';
import { startPrometheus, type TestPrometheus } from './prometheus.ts';

const P99_QUERY =
  'histogram_quantile(0.99, sum by (le) (rate(http_server_request_duration_seconds_bucket[5s]))) * 1000';

let scraped: TestService;
let direct: TestService;
let prometheus: TestPrometheus;
let load: { stop(): Promise<void> }[] = [];
const folder = temporaryFolder('steady-baseline');

beforeAll(async () => {
  scraped = await startTestService('checkout-svc');
  direct = await startTestService('payment-svc');
  load = [startLoad(`${scraped.url}/work`, 20), startLoad(`${direct.url}/work`, 20)];
  prometheus = await startPrometheus([`127.0.0.1:${scraped.port}`]);
  // rate() over 5s needs two scrapes of the target; wait for three to be safe.
  const scrapedThrice = await waitUntil(async () => {
    const url = `${prometheus.url}/api/v1/query?query=count_over_time(up[1m])`;
    const body = (await (await fetch(url)).json()) as {
      data?: { result?: { value?: [number, string] }[] };
    };
    return Number(body.data?.result?.[0]?.value?.[1] ?? 0) >= 3;
  }, 15_000);
  expect(scrapedThrice).toBe(true);
});

afterAll(async () => {
  await Promise.all(load.map((entry) => entry.stop()));
  await prometheus?.stop();
  await scraped?.stop();
  await direct?.stop();
  folder.remove();
});

function mean(values: number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}

/** Fetches the points of a range query straight from the HTTP API, without the module under test. */
async function rawRange(query: string, baseline: Baseline, stepMs: number): Promise<number[]> {
  const url = new URL('/api/v1/query_range', prometheus.url);
  url.searchParams.set('query', query);
  url.searchParams.set('start', String(baseline.startedAtMs / 1_000));
  url.searchParams.set('end', String(baseline.endedAtMs / 1_000));
  url.searchParams.set('step', String(stepMs / 1_000));
  const body = (await (await fetch(url)).json()) as {
    data: { result: { values: [number, string][] }[] };
  };
  return (body.data.result[0]?.values ?? []).map(([, value]) => Number(value));
}

describe('captureBaseline', () => {
  it('matches samples computed by hand', async () => {
    const progress: string[] = [];
    const [fromPrometheus, fromScrape] = await Promise.all([
      captureBaseline({
        source: {
          kind: 'prometheus',
          url: prometheus.url,
          queries: {
            'checkout-svc:test_queue_depth': 'test_queue_depth',
            'checkout-svc:p99': P99_QUERY,
          },
        },
        durationMs: 6_000,
        intervalMs: 1_000,
        onProgress: (text) => progress.push(text),
      }),
      captureBaseline({
        source: { kind: 'scrape', stack: stackOf([direct]) },
        durationMs: 6_000,
        intervalMs: 1_000,
      }),
    ]);

    // Prometheus source: the same range query sent by hand gives the same mean and p99.
    const gaugePoints = await rawRange('test_queue_depth', fromPrometheus, 1_000);
    expect(gaugePoints.length).toBeGreaterThanOrEqual(5);
    const gauge = fromPrometheus.series.find((series) => series.metric === 'test_queue_depth');
    expect(gauge).toMatchObject({ service: 'checkout-svc', samples: gaugePoints.length });
    expect(gauge?.mean).toBeCloseTo(mean(gaugePoints), 10);
    expect(gauge?.p99).toBe(Math.max(...gaugePoints));
    // Every point is a value the service really exposed on a scrape.
    for (const point of gaugePoints) expect(scraped.gaugeValues).toContain(point);

    // The raw samples Prometheus stored over the same period.
    const seconds = Math.ceil((fromPrometheus.endedAtMs - fromPrometheus.startedAtMs) / 1_000);
    const rawUrl = new URL('/api/v1/query', prometheus.url);
    rawUrl.searchParams.set('query', `test_queue_depth[${seconds}s]`);
    rawUrl.searchParams.set('time', String(fromPrometheus.endedAtMs / 1_000));
    const rawBody = (await (await fetch(rawUrl)).json()) as {
      data: { result: { values: [number, string][] }[] };
    };
    const rawSamples = (rawBody.data.result[0]?.values ?? []).map(([, value]) => Number(value));
    expect(rawSamples.length).toBeGreaterThanOrEqual(5);
    // Each step point is the latest raw sample before it, so the points are raw samples and,
    // with the step equal to the scrape interval, cover nearly all of them.
    for (const point of gaugePoints.slice(1)) expect(rawSamples).toContain(point);
    const covered = rawSamples.filter((sample) => gaugePoints.includes(sample)).length;
    expect(covered / rawSamples.length).toBeGreaterThanOrEqual(0.7);

    const p99Points = (await rawRange(P99_QUERY, fromPrometheus, 1_000)).filter(Number.isFinite);
    const p99 = fromPrometheus.series.find((series) => series.metric === 'p99');
    expect(p99?.mean).toBeCloseTo(mean(p99Points), 10);
    expect(p99?.p99).toBeCloseTo(nearestRankP99(p99Points), 10);
    expect(p99?.mean).toBeGreaterThan(0);
    expect(progress.some((line) => line.startsWith('capturing baseline:'))).toBe(true);

    // Scrape source: the gauge series contains exactly the values this sampler scraped, after
    // the first scrape that only sets the starting totals.
    const scrapedValues = direct.gaugeValues.slice(1);
    const directGauge = fromScrape.series.find((series) => series.metric === 'test_queue_depth');
    expect(directGauge?.samples).toBe(scrapedValues.length);
    expect(directGauge?.mean).toBeCloseTo(mean(scrapedValues), 10);
    expect(directGauge?.p99).toBe(nearestRankP99(scrapedValues));
    expect(fromScrape.series.find((series) => series.metric === 'up')).toMatchObject({
      mean: 1,
      samples: 6,
    });
    expect(fromScrape.series.find((series) => series.metric === 'error_rate')?.p99).toBe(0);
    const latency = fromScrape.series.find((series) => series.metric === 'p99');
    expect(latency?.samples).toBe(6);
    expect(latency?.mean).toBeGreaterThan(0);
    expect(latency?.p99).toBeLessThan(250);

    const file = join(folder.path, 'baseline.json');
    saveBaseline(file, fromScrape);
    expect(loadBaseline(file)).toEqual(fromScrape);
  });

  it('fails fast on an unreachable Prometheus', async () => {
    const startedAtMs = Date.now();
    const capture = captureBaseline({
      source: { kind: 'prometheus', url: 'http://127.0.0.1:1', queries: { 'a:up': 'up' } },
      durationMs: 60_000,
      intervalMs: 1_000,
    });
    await expect(capture).rejects.toMatchObject({
      code: 'PROMETHEUS_UNREACHABLE',
      value: 'http://127.0.0.1:1',
    });
    await expect(capture).rejects.toThrow(/Start Prometheus/);
    expect(Date.now() - startedAtMs).toBeLessThan(10_000);
  });

  it('rejects invalid PromQL before waiting', async () => {
    const capture = captureBaseline({
      source: { kind: 'prometheus', url: prometheus.url, queries: { 'a:p99': 'rate(up[' } },
      durationMs: 60_000,
      intervalMs: 1_000,
    });
    await expect(capture).rejects.toMatchObject({
      code: 'PROMETHEUS_QUERY_FAILED',
      value: 'rate(up[',
    });
  });

  it('rejects a query without data', async () => {
    const capture = captureBaseline({
      source: { kind: 'prometheus', url: prometheus.url, queries: { 'a:p99': 'no_such_metric' } },
      durationMs: 1_000,
      intervalMs: 500,
    });
    await expect(capture).rejects.toMatchObject({ code: 'BASELINE_INVALID' });
    await expect(capture).rejects.toThrow(/returned 0 series, expected 1/);
  });

  it('rejects a URL that is not Prometheus', async () => {
    const capture = captureBaseline({
      source: { kind: 'prometheus', url: direct.url, queries: { 'a:up': 'up' } },
      durationMs: 60_000,
      intervalMs: 1_000,
    });
    await expect(capture).rejects.toMatchObject({ code: 'PROMETHEUS_UNREACHABLE' });
    await expect(capture).rejects.toThrow(/body that is not JSON/);
  });

  it('rejects a scrape baseline of garbage metrics', async () => {
    const broken = await startTestService('cart-svc');
    broken.behaviour.garbageMetrics = true;
    try {
      const capture = captureBaseline({
        source: { kind: 'scrape', stack: stackOf([direct, broken]) },
        durationMs: 1_000,
        intervalMs: 500,
      });
      await expect(capture).rejects.toMatchObject({
        code: 'BASELINE_INVALID',
        value: ['cart-svc'],
      });
      await expect(capture).rejects.toThrow(
        /cart-svc \(Metrics text contains no Prometheus sample/,
      );
    } finally {
      await broken.stop();
    }
  });

  it('rejects a query key without a metric', async () => {
    const capture = captureBaseline({
      source: { kind: 'prometheus', url: prometheus.url, queries: { checkout: 'up' } },
      durationMs: 1_000,
      intervalMs: 500,
    });
    await expect(capture).rejects.toThrow(SteadyStateError);
    await expect(capture).rejects.toThrow(/<service>:<metric>/);
  });
});

describe('loadBaseline', () => {
  it('rejects a file that is not a baseline', () => {
    const file = join(folder.path, 'broken.json');
    writeFileSync(file, JSON.stringify({ startedAtMs: 1, series: [] }));
    expect(() => loadBaseline(file)).toThrow(/broken\.json: endedAtMs/);
    expect(() => loadBaseline(join(folder.path, 'missing.json'))).toThrow(/cannot be read/);
  });
});

describe('nearestRankP99', () => {
  it('picks the value at rank ceil(0.99 n)', () => {
    const values = Array.from({ length: 200 }, (_, index) => 200 - index);
    expect(nearestRankP99(values)).toBe(198);
    expect(nearestRankP99([5])).toBe(5);
  });
});
