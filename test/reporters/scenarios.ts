import type { Scenario } from './fixtures/define-suites.ts';
import { alert, baselineWindow, detected, experiment } from './fixtures/records.ts';

/**
 * Seven experiments over every outcome: detected with the right root, a miss, a must-not-pick
 * root, invalid, aborted, a cluster without the root's alerts, and a failing alerts call. One
 * baseline window holds one false alarm.
 */
export function mixedScenario(): Scenario {
  const cascadeAlerts = [
    alert('a3', 'checkout-svc', 12_000, 'error_rate'),
    alert('a3b', 'payment-svc', 15_000),
  ];
  const authAlerts = [
    alert('a6', 'api-gateway', 40_000, 'error_rate'),
    alert('a6b', 'auth-svc', 41_000),
  ];
  return {
    a: [
      { record: baselineWindow([alert('b1', 'cache-svc', -400_000)]) },
      { record: detected('1', 'payment-svc', 28_000) },
      {
        record: experiment('2', 'inventory-svc', {
          name: 'inventory_kill',
          fault: { type: 'availability', target: 'inventory-svc', params: {} },
        }),
      },
      {
        record: detected('3', 'payment-svc', 12_000, 'checkout-svc', {
          name: 'checkout_retry_storm',
          groundTruth: {
            rootService: 'payment-svc',
            alsoCorrect: [],
            mustNotPick: ['checkout-svc'],
          },
          detection: {
            detected: true,
            firstAlert: cascadeAlerts[0],
            mttdMs: 12_000,
            alerts: cascadeAlerts,
          },
          correlation: {
            id: 'c3',
            alertIds: ['a3', 'a3b'],
            services: ['checkout-svc', 'payment-svc'],
          },
        }),
      },
    ],
    b: [
      {
        record: experiment('4', 'payment-db', {
          name: 'payment_db_memory',
          status: 'invalid',
          reason: 'steady state not reached: probe pass rate 0.82 < 0.99',
        }),
      },
      {
        record: experiment('5', 'api-gateway', {
          name: 'gateway_cpu',
          status: 'aborted',
          reason: 'probe_pass_rate < 50% for 30s',
        }),
      },
      {
        record: detected('6', 'auth-svc', 40_000, 'api-gateway', {
          name: 'auth_clock_skew',
          detection: {
            detected: true,
            firstAlert: authAlerts[0],
            mttdMs: 40_000,
            alerts: authAlerts,
          },
          correlation: { id: 'c6', alertIds: ['a6'], services: ['api-gateway'] },
        }),
        on: 'case',
      },
      {
        record: experiment('7', 'dns-resolver', {
          name: 'dns_latency',
          pipelineErrors: [
            { stage: 'alerts', message: 'GET /alerts returned HTTP 500', excerpt: 'boom', atMs: 0 },
          ],
        }),
      },
    ],
  };
}

/** Ten completed experiments; the first `detectedCount` were detected with the right root. */
export function recallScenario(detectedCount: number): Scenario {
  const suites = Array.from({ length: 10 }, (_, index) => {
    const id = String(index + 1);
    const record =
      index < detectedCount
        ? detected(id, 'payment-svc', (index + 1) * 5000)
        : experiment(id, 'payment-svc');
    return { record, on: index % 2 === 0 ? ('case' as const) : ('suite' as const) };
  });
  return { a: suites.slice(0, 5), b: suites.slice(5), c: [{ record: baselineWindow() }] };
}
