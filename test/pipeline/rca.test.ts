import { describe, expect, it } from 'vitest';
import { correlate } from '../../fixtures/pipeline/correlator.ts';
import type { Detector } from '../../fixtures/pipeline/detector.ts';
import { analyseRootCause } from '../../fixtures/pipeline/rca.ts';
import { Topology } from '../../fixtures/pipeline/topology.ts';
import { makeAlert } from './support/alerts.ts';
import { EPOCH_MS, runWorld } from './support/run.ts';
import { DEMO_TOPOLOGY, World } from './support/world.ts';

const topology = new Topology(DEMO_TOPOLOGY);

/** Runs the mesh with a fault from second 60 and returns the RCA of the single cluster. */
async function rcaOf(inject: (world: World) => void, seed: number) {
  const world = new World(DEMO_TOPOLOGY, 'frontend', seed);
  const { detector } = await runWorld(world, {
    seconds: 85,
    onSecond: (second) => {
      if (second === 60) inject(world);
    },
  });
  const clusters = correlate(detector.alertsSince(0), topology, { nowMs: EPOCH_MS + 85_000 });
  expect(clusters).toHaveLength(1);
  return analyseRootCause(alertsOf(detector, clusters[0]!.alertIds), topology);
}

function alertsOf(detector: Detector, ids: string[]) {
  return ids.map((id) => detector.alertById(id)).filter((alert) => alert !== undefined);
}

describe('analyseRootCause', () => {
  it('picks the quiet callee of a retry storm', async () => {
    const answer = await rcaOf(
      (world) => world.edgeFaults.set('checkout-svc__payment-svc', { errorShare: 0.3 }),
      31,
    );
    expect(answer.root_service).toBe('payment-svc');
    expect(answer.ranked.map((entry) => entry.service)).not.toContain('payment-db');
  });

  it('picks the most upstream anomalous service of a cascade', async () => {
    const answer = await rcaOf(
      (world) => world.faults.set('payment-db', { addedLatencyS: 0.4 }),
      32,
    );
    expect(answer.root_service).toBe('payment-db');
    expect(answer.ranked.length).toBeGreaterThan(2);
    expect(answer.confidence).toBeGreaterThan(0.6);
  });

  it('picks a dead callee from its callers metrics', async () => {
    const answer = await rcaOf((world) => world.faults.set('inventory-svc', { down: true }), 33);
    expect(answer.root_service).toBe('inventory-svc');
  });

  it('blames a caller with trouble on many quiet callees', () => {
    const alerts = ['payment-svc', 'inventory-svc', 'notification-svc'].map((peer) =>
      makeAlert({ service: 'api-gateway', signal: 'client_p99_ms', peer, onsetS: 10 }),
    );
    alerts.push(
      makeAlert({ service: 'frontend', signal: 'client_p99_ms', peer: 'api-gateway', onsetS: 11 }),
    );
    const answer = analyseRootCause(alerts, topology);
    expect(answer.root_service).toBe('api-gateway');
  });

  it('does not blame a callee that moved later', () => {
    const alerts = (calleeOnsetS: number) => [
      makeAlert({ service: 'checkout-svc', signal: 'error_ratio', onsetS: 10 }),
      makeAlert({
        service: 'api-gateway',
        signal: 'client_error_ratio',
        peer: 'checkout-svc',
        onsetS: 10,
      }),
      makeAlert({
        service: 'checkout-svc',
        signal: 'client_error_ratio',
        peer: 'inventory-svc',
        onsetS: calleeOnsetS,
      }),
    ];
    // Trouble with inventory-svc that began 5 s after checkout-svc's own errors cannot cause them.
    expect(analyseRootCause(alerts(15), topology).root_service).toBe('checkout-svc');
    // Trouble that began with checkout-svc's errors points at the callee.
    expect(analyseRootCause(alerts(10), topology).root_service).toBe('inventory-svc');
  });

  it('keeps a callee whose signals lag by 3 s', () => {
    // Alert onsets of a full-profile run with 500 ms added on every call to payment-svc.
    const alerts = [
      makeAlert({ service: 'frontend', signal: 'http_p99_ms', onsetS: 10 }),
      makeAlert({ service: 'frontend', signal: 'client_p99_ms', peer: 'api-gateway', onsetS: 10 }),
      makeAlert({ service: 'api-gateway', signal: 'http_p99_ms', onsetS: 10 }),
      makeAlert({
        service: 'api-gateway',
        signal: 'client_p99_ms',
        peer: 'payment-svc',
        onsetS: 13,
      }),
      makeAlert({
        service: 'api-gateway',
        signal: 'client_p50_ms',
        peer: 'payment-svc',
        onsetS: 13,
      }),
      makeAlert({ service: 'api-gateway', signal: 'http_p50_ms', onsetS: 19 }),
      makeAlert({ service: 'checkout-svc', signal: 'http_p99_ms', onsetS: 27 }),
      makeAlert({
        service: 'checkout-svc',
        signal: 'client_p50_ms',
        peer: 'payment-svc',
        onsetS: 27,
      }),
      makeAlert({
        service: 'api-gateway',
        signal: 'client_p99_ms',
        peer: 'checkout-svc',
        onsetS: 27,
      }),
    ];
    expect(analyseRootCause(alerts, topology).root_service).toBe('payment-svc');
  });

  it('gives low confidence when the evidence does not line up', () => {
    const alerts = [
      makeAlert({ service: 'kafka', signal: 'error_ratio', onsetS: 10 }),
      makeAlert({ service: 'payment-db', signal: 'error_ratio', onsetS: 10 }),
    ];
    const ambiguous = analyseRootCause(alerts, topology);
    const clear = analyseRootCause(
      [
        makeAlert({ service: 'payment-db', signal: 'error_ratio', onsetS: 10 }),
        makeAlert({
          service: 'payment-svc',
          signal: 'client_error_ratio',
          peer: 'payment-db',
          onsetS: 10,
        }),
        makeAlert({ service: 'payment-svc', signal: 'error_ratio', onsetS: 12 }),
        makeAlert({
          service: 'api-gateway',
          signal: 'client_error_ratio',
          peer: 'payment-svc',
          onsetS: 13,
        }),
      ],
      topology,
    );
    expect(clear.root_service).toBe('payment-db');
    expect(ambiguous.confidence).toBeLessThan(0.5);
    expect(clear.confidence).toBeGreaterThan(ambiguous.confidence + 0.2);
  });

  it('says so when there is no evidence', () => {
    const answer = analyseRootCause([], topology);
    expect(answer.root_service).toBeNull();
    expect(answer.confidence).toBe(0);
    expect(answer.evidence).toEqual([expect.objectContaining({ kind: 'none' })]);
  });
});

describe('rejections', () => {
  const withAuth = new Topology({
    frontend: ['api-gateway', 'auth-svc'],
    'api-gateway': ['payment-svc'],
  });
  const alerts = [
    makeAlert({ service: 'auth-svc', signal: 'clock_skew_seconds', onsetS: 10 }),
    makeAlert({ service: 'api-gateway', signal: 'http_4xx_ratio', onsetS: 13 }),
    makeAlert({ service: 'frontend', signal: 'http_4xx_ratio', onsetS: 14 }),
  ];

  it('cluster with the caller that sent them', () => {
    const clusters = correlate(alerts, withAuth, { nowMs: EPOCH_MS + 60_000 });
    expect(clusters).toHaveLength(1);
    expect(clusters[0]!.services).toEqual(['api-gateway', 'auth-svc', 'frontend']);
  });

  it('point away from the rejecting service', () => {
    const answer = analyseRootCause(alerts, withAuth);
    expect(answer.root_service).toBe('auth-svc');
  });
});
