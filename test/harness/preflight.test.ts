import { describe, expect, it } from 'vitest';
import { defineExperiment } from '../../src/harness/experiment/catalog.ts';
import { preflightProblems } from '../../src/harness/experiment/preflight.ts';
import type { ExperimentInput } from '../../src/harness/experiment/schema.ts';
import { stackInfoSchema } from '../../src/harness/stack-info.ts';

const stack = stackInfoSchema.parse({
  kind: 'process',
  probeUrl: 'http://127.0.0.1:1/probe',
  services: ['checkout-svc', 'payment-svc', 'payment-db', 'frontend'].map((name, index) => ({
    name,
    url: `http://127.0.0.1:${1000 + index}`,
    port: 1000 + index,
  })),
});

function experiment(overrides: Partial<ExperimentInput>): ReturnType<typeof defineExperiment> {
  return defineExperiment({
    id: 1,
    name: 'preflight',
    hypothesis: { text: 'x', expect: { detected: true } },
    fault: { type: 'latency', target: 'payment-svc', latency: '100ms' },
    blast_radius: { target: 'payment-svc', traffic: '100%', duration: '10s' },
    rollback: { automatic: true, method: 'remove the toxic' },
    measurement: { metrics: [], capture_window: { before: '1m', after: '1m' } },
    abort_conditions: [],
    ground_truth: { root_service: 'payment-svc', also_correct: [], must_not_pick: [] },
    ...overrides,
  });
}

describe('preflightProblems', () => {
  it('accepts known targets and variables', () => {
    const checked = experiment({
      rollback: {
        automatic: true,
        trigger_when: 'probe_pass_rate < 10% for 30s OR checkout_p99 > 3s',
        method: 'x',
      },
      abort_conditions: ['payment_db_up == 0 for 10s', 'payment_svc_error_rate > 50%'],
    });
    expect(preflightProblems(checked, stack)).toEqual([]);
  });

  it('rejects a misspelt condition variable', () => {
    const checked = experiment({ abort_conditions: ['chekout_p99 > 1s'] });
    const problems = preflightProblems(checked, stack);
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('"chekout_p99"');
    expect(problems[0]).toContain('checkout-svc');
  });

  it('rejects an unknown target', () => {
    const checked = experiment({
      fault: { type: 'latency', target: 'paymnet-svc', latency: '100ms' },
    });
    expect(preflightProblems(checked, stack)).toEqual([
      'fault target "paymnet-svc" is not a service of the stack (known: checkout-svc, payment-svc, payment-db, frontend)',
    ]);
  });

  it('checks both ends of an edge', () => {
    const checked = experiment({
      fault: { type: 'network_partition', target: 'frontend->gateway' },
    });
    expect(preflightProblems(checked, stack)).toHaveLength(1);
    expect(preflightProblems(checked, stack)[0]).toContain('"gateway"');
  });
});
