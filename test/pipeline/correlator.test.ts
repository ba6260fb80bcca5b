import { describe, expect, it } from 'vitest';
import { correlate } from '../../fixtures/pipeline/correlator.ts';
import { Topology } from '../../fixtures/pipeline/topology.ts';
import { makeAlert } from './support/alerts.ts';
import { EPOCH_MS, runWorld } from './support/run.ts';
import { DEMO_TOPOLOGY, World } from './support/world.ts';

const topology = new Topology(DEMO_TOPOLOGY);
const END_MS = EPOCH_MS + 120_000;

describe('correlate on a simulated mesh', () => {
  it('keeps a cascade in one cluster', async () => {
    const world = new World(DEMO_TOPOLOGY, 'frontend', 21);
    const { detector } = await runWorld(world, {
      seconds: 90,
      onSecond: (second) => {
        if (second === 60) world.faults.set('payment-db', { addedLatencyS: 0.4 });
      },
    });
    const alerts = detector.alertsSince(0);
    expect(alerts.length).toBeGreaterThan(2);
    const clusters = correlate(alerts, topology, { nowMs: END_MS });
    expect(clusters).toHaveLength(1);
    expect(clusters[0]!.services).toContain('payment-db');
    expect(clusters[0]!.alertIds).toHaveLength(alerts.length);
  });

  it('splits two independent faults close in time', async () => {
    const world = new World(DEMO_TOPOLOGY, 'frontend', 22);
    const { detector } = await runWorld(world, {
      seconds: 90,
      onSecond: (second) => {
        if (second === 60) world.faults.set('payment-db', { addedLatencyS: 0.4 });
        if (second === 62) world.faults.set('kafka', { errorShare: 0.5 });
      },
    });
    const clusters = correlate(detector.alertsSince(0), topology, { nowMs: END_MS });
    expect(clusters).toHaveLength(2);
    const withDb = clusters.filter((cluster) => cluster.services.includes('payment-db'));
    const withKafka = clusters.filter((cluster) => cluster.services.includes('kafka'));
    expect(withDb).toHaveLength(1);
    expect(withKafka).toHaveLength(1);
    expect(withDb[0]).not.toBe(withKafka[0]);
  });
});

describe('correlate on hand-made alerts', () => {
  it('separates alerts far apart in time', () => {
    const first = makeAlert({
      service: 'payment-svc',
      signal: 'error_ratio',
      onsetS: 0,
      resolvedS: 20,
    });
    const second = makeAlert({
      service: 'payment-svc',
      signal: 'error_ratio',
      onsetS: 200,
      resolvedS: 220,
    });
    expect(correlate([first, second], topology, { nowMs: END_MS })).toHaveLength(2);
  });

  it('keeps a late alert with a fault that is still active', () => {
    const root = makeAlert({ service: 'kafka', signal: 'error_ratio', onsetS: 0 });
    const late = makeAlert({
      service: 'api-gateway',
      signal: 'client_error_ratio',
      peer: 'notification-svc',
      onsetS: 100,
    });
    const clusters = correlate([root, late], topology, { nowMs: EPOCH_MS + 110_000 });
    expect(clusters).toHaveLength(1);
    expect(clusters[0]!.services).toEqual(['api-gateway', 'kafka', 'notification-svc']);
  });

  it('groups a caller-side fault with its own callers', () => {
    const alerts = ['payment-svc', 'inventory-svc', 'checkout-svc'].map((peer) =>
      makeAlert({ service: 'api-gateway', signal: 'client_p99_ms', peer, onsetS: 10 }),
    );
    alerts.push(
      makeAlert({ service: 'frontend', signal: 'client_p99_ms', peer: 'api-gateway', onsetS: 11 }),
    );
    const clusters = correlate(alerts, topology, { nowMs: END_MS });
    expect(clusters).toHaveLength(1);
    expect(clusters[0]!.alertIds).toHaveLength(4);
  });

  it('returns no clusters for no alerts', () => {
    expect(correlate([], topology)).toEqual([]);
  });
});
