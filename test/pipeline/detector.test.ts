import { describe, expect, it } from 'vitest';
import { Detector } from '../../fixtures/pipeline/detector.ts';
import { EPOCH_MS, runWorld } from './support/run.ts';
import { DEMO_TOPOLOGY, World } from './support/world.ts';

const FAULT_AT_S = 60;

/** Runs the demo mesh for `seconds`, calling `inject` once at FAULT_AT_S. */
async function runWithFault(
  inject: (world: World) => void,
  options: {
    seconds?: number;
    seed?: number;
    clear?: (world: World) => void;
    clearAtS?: number;
  } = {},
) {
  const world = new World(DEMO_TOPOLOGY, 'frontend', options.seed ?? 7);
  const run = await runWorld(world, {
    seconds: options.seconds ?? 90,
    onSecond: (second) => {
      if (second === FAULT_AT_S) inject(world);
      if (second === options.clearAtS) options.clear?.(world);
    },
  });
  return run.detector.alertsSince(0);
}

describe('Detector on a simulated mesh', () => {
  it.each([11, 12, 13])('stays quiet on a noisy healthy mesh (seed %i)', async (seed) => {
    const world = new World(DEMO_TOPOLOGY, 'frontend', seed);
    const { detector } = await runWorld(world, { seconds: 300 });
    expect(detector.alertsSince(0).map((alert) => alert.summary)).toEqual([]);
  });

  it('fires within the minimum duration on a latency shift', async () => {
    const alerts = await runWithFault((world) =>
      world.faults.set('payment-db', { addedLatencyS: 0.3 }),
    );
    const own = alerts.filter(
      (alert) => alert.service === 'payment-db' && alert.signal.startsWith('http_p'),
    );
    expect(own.length).toBeGreaterThanOrEqual(1);
    const [alert] = own;
    const injectedAtMs = EPOCH_MS + FAULT_AT_S * 1000;
    expect(alert!.firedAtMs - alert!.onsetAtMs).toBeGreaterThanOrEqual(3000);
    expect(alert!.firedAtMs - injectedAtMs).toBeLessThanOrEqual(6000);
    expect(alert!.observed).toBeGreaterThan(alert!.expected + 250);
  });

  it('ignores a one-second latency spike', async () => {
    const alerts = await runWithFault(
      (world) => world.faults.set('payment-db', { addedLatencyS: 0.8 }),
      {
        clearAtS: FAULT_AT_S + 1,
        clear: (world) => world.faults.delete('payment-db'),
      },
    );
    expect(alerts.map((alert) => alert.summary)).toEqual([]);
  });

  it('ignores a shift below the absolute floor', async () => {
    const alerts = await runWithFault((world) =>
      world.faults.set('payment-db', { addedLatencyS: 0.02 }),
    );
    expect(alerts.map((alert) => alert.summary)).toEqual([]);
  });

  it('keeps one alert per outage and fires again after recovery', async () => {
    const world = new World(DEMO_TOPOLOGY, 'frontend', 3);
    const { detector } = await runWorld(world, {
      seconds: 150,
      onSecond: (second) => {
        if (second === 40 || second === 100) world.faults.set('kafka', { down: true });
        if (second === 60 || second === 120) world.faults.delete('kafka');
      },
    });
    const upAlerts = detector
      .alertsSince(0)
      .filter((alert) => alert.service === 'kafka' && alert.signal === 'up');
    expect(upAlerts).toHaveLength(2);
    expect(upAlerts[0]!.severity).toBe('critical');
    expect(upAlerts[0]!.resolvedAtMs).toBeGreaterThan(EPOCH_MS + 60_000);
    expect(upAlerts[1]!.firedAtMs).toBeGreaterThan(EPOCH_MS + 100_000);
  });

  it('alerts on memory filled towards the limit', async () => {
    const alerts = await runWithFault((world) =>
      world.faults.set('payment-db', { memoryRatio: 0.92 }),
    );
    const memory = alerts.filter((alert) => alert.signal === 'memory_used_ratio');
    expect(memory.map((alert) => alert.service)).toEqual(['payment-db']);
    expect(memory[0]!.severity).toBe('critical');
  });

  it('alerts on the share of failed calls by peer', async () => {
    const alerts = await runWithFault((world) =>
      world.edgeFaults.set('checkout-svc__payment-svc', { errorShare: 0.3 }),
    );
    const signals = alerts
      .filter((alert) => alert.service === 'checkout-svc')
      .map((alert) => alert.signal);
    expect(signals).toContain('client_error_ratio{peer="payment-svc"}');
  });
});

describe('Detector on a gauge', () => {
  const feed = (detector: Detector, values: number[], startS = 0): void => {
    values.forEach((value, i) =>
      detector.observe(
        { service: 'svc', signal: 'eventloop_lag_ms', value },
        EPOCH_MS + (startS + i) * 1000,
      ),
    );
  };

  it('fires only after the minimum duration', () => {
    const detector = new Detector({ idPrefix: 'g' });
    feed(
      detector,
      Array.from({ length: 60 }, (_, i) => 10 + (i % 5)),
    );
    feed(detector, [300, 300, 300], 60);
    expect(detector.alertsSince(0)).toHaveLength(0);
    feed(detector, [300], 63);
    expect(detector.alertsSince(0)).toHaveLength(1);
    expect(detector.alertsSince(0)[0]!.onsetAtMs).toBe(EPOCH_MS + 60_000);
  });

  it('resolves only after the value is back to normal', () => {
    const detector = new Detector({ idPrefix: 'g' });
    feed(
      detector,
      Array.from({ length: 60 }, (_, i) => 10 + (i % 5)),
    );
    feed(detector, [300, 300, 300, 300, 300, 90, 90, 90, 90, 90, 90], 60);
    expect(detector.alertsSince(0)[0]!.resolvedAtMs).toBeUndefined();
    feed(detector, [11, 12, 11, 12, 11], 71);
    expect(detector.alertsSince(0)[0]!.resolvedAtMs).toBe(EPOCH_MS + 75_000);
  });

  it.each([
    ['disk_free_bytes', 16e6, 1e6],
    ['log_lag_seconds', 0.5, 20],
  ] as const)('alerts when %s moves away from normal', (signal, normal, shifted) => {
    const detector = new Detector({ idPrefix: 'g' });
    for (let second = 0; second < 40; second += 1) {
      const value = second < 30 ? normal * (1 + (second % 3) / 100) : shifted;
      detector.observe({ service: 'log-collector', signal, value }, EPOCH_MS + second * 1000);
    }
    const alerts = detector.alertsSince(0);
    expect(alerts.map((alert) => alert.signal)).toEqual([signal]);
    expect(alerts[0]!.observed).toBe(shifted);
  });

  it('does not fire while warming up', () => {
    const detector = new Detector({ idPrefix: 'g', warmupSamples: 10 });
    feed(detector, [10, 10, 10, 500, 500, 500, 500, 500]);
    expect(detector.alertsSince(0)).toHaveLength(0);
  });
});

describe('Detector.observeRound', () => {
  const services = ['a', 'b', 'c', 'd', 'e'];
  const round = (detector: Detector, second: number, lagOf: (service: string) => number): void =>
    detector.observeRound(
      services.map((service) => ({
        sample: { service, signal: 'eventloop_lag_ms', value: lagOf(service) },
        atMs: EPOCH_MS + second * 1000,
      })),
    );

  it('treats a lag rise on most services as host-wide', () => {
    const detector = new Detector({ idPrefix: 'r' });
    for (let second = 0; second < 30; second += 1) round(detector, second, () => 10 + (second % 3));
    for (let second = 30; second < 40; second += 1) round(detector, second, () => 400);
    expect(detector.alertsSince(0)).toHaveLength(0);
  });

  it('alerts on a lag rise on one service', () => {
    const detector = new Detector({ idPrefix: 'r' });
    for (let second = 0; second < 30; second += 1) round(detector, second, () => 10 + (second % 3));
    for (let second = 30; second < 40; second += 1) {
      round(detector, second, (service) => (service === 'c' ? 400 : 11));
    }
    expect(detector.alertsSince(0).map((alert) => alert.service)).toEqual(['c']);
  });
});
