import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SchemaError } from '../../src/harness/errors.ts';
import { defineExperiment, loadCatalog } from '../../src/harness/experiment/catalog.ts';
import type { FaultDriver } from '../../src/harness/faults/driver.ts';
import { registerDriver } from '../../src/harness/faults/registry.ts';

const VALID_ENTRY = `
- id: 1
  name: payment_latency
  hypothesis:
    text: payment latency is detected
    expect: { detected: true, mttd_max: 60s, rca: payment-svc }
  fault: { type: latency, target: payment-svc, latency: 500ms, jitter: 100ms }
  blast_radius: { target: 1 instance of payment-svc, traffic: 100%, duration: 60s }
  rollback:
    automatic: true
    trigger_when: probe_pass_rate < 90% OR checkout_p99 > 3s
    method: remove the toxic
  measurement:
    metrics: [probe_pass_rate]
    capture_window: { before: 5m, after: 10m }
  abort_conditions: [probe_pass_rate < 50% for 30s]
  ground_truth: { root_service: payment-svc, also_correct: [], must_not_pick: [] }
`;

/** Replaces one line of the valid entry; `from` must occur in it. */
function variant(from: string, to: string): string {
  if (!VALID_ENTRY.includes(from)) throw new Error(`not in the valid entry: ${from}`);
  return VALID_ENTRY.replace(from, to);
}

const secondEntry = (id: string, name: string) =>
  VALID_ENTRY.replace('id: 1', `id: ${id}`).replace('name: payment_latency', `name: ${name}`);

const CASES: { title: string; yaml: string; expected: string[] }[] = [
  {
    title: 'bad YAML',
    yaml: '- id: 1\n  name: [unclosed\n',
    expected: ['experiments.yaml:3:1', 'line 3, column 1'],
  },
  { title: 'duplicate YAML key', yaml: '- id: 1\n  id: 2\n', expected: ['invalid YAML', 'line 2'] },
  { title: 'not a list', yaml: 'id: 1\n', expected: ['(root) must be a list', '{"id":1}'] },
  {
    title: 'unknown fault type',
    yaml: variant('type: latency', 'type: latnecy'),
    expected: ['[0].fault.type must be one of the known types: latency, network_loss', '"latnecy"'],
  },
  {
    title: 'missing ground truth',
    yaml: variant(
      '  ground_truth: { root_service: payment-svc, also_correct: [], must_not_pick: [] }',
      '',
    ),
    expected: ['[0].ground_truth must be an object (received nothing)'],
  },
  {
    title: 'bad latency',
    yaml: variant('latency: 500ms', 'latency: 5x'),
    expected: ['[0].fault.latency must be a non-negative duration', '(received "5x")'],
  },
  {
    title: 'negative duration',
    yaml: variant('duration: 60s', 'duration: -60s'),
    expected: ['[0].blast_radius.duration must be a non-negative duration', '(received "-60s")'],
  },
  {
    title: 'duration over a day',
    yaml: variant('duration: 60s', 'duration: 25h'),
    expected: [
      '[0].blast_radius.duration must be a non-negative duration up to 24h',
      '(received "25h")',
    ],
  },
  {
    title: 'unit-less string duration',
    yaml: variant('duration: 60s', 'duration: "30"'),
    expected: ['[0].blast_radius.duration must be', '(received "30")'],
  },
  {
    title: 'unit-less fault duration',
    yaml: variant('latency: 500ms', 'latency: "500"'),
    expected: ['[0].fault.latency must be', '(received "500")'],
  },
  {
    title: 'duplicate ids',
    yaml: VALID_ENTRY + secondEntry('1', 'other_name'),
    expected: ['[1].id must be unique (entry [0] has the same id)', '(received "1")'],
  },
  {
    title: 'duplicate names',
    yaml: VALID_ENTRY + secondEntry('2', 'payment_latency'),
    expected: ['[1].name must be unique', '(received "payment_latency")'],
  },
  {
    title: 'partition with one end',
    yaml: variant(
      'fault: { type: latency, target: payment-svc, latency: 500ms, jitter: 100ms }',
      'fault: { type: network_partition, target: frontend }',
    ),
    expected: ['[0].fault.target must be an edge written caller->callee', '(received "frontend")'],
  },
  {
    title: 'bad trigger condition',
    yaml: variant(
      'trigger_when: probe_pass_rate < 90% OR checkout_p99 > 3s',
      'trigger_when: probe_pass_rate <<< 90%',
    ),
    expected: [
      '[0].rollback.trigger_when must be a condition such as',
      '(received "probe_pass_rate <<< 90%")',
    ],
  },
  {
    title: 'bad abort condition',
    yaml: variant(
      'abort_conditions: [probe_pass_rate < 50% for 30s]',
      'abort_conditions: [probe_pass_rate < 50% for ever]',
    ),
    expected: ['[0].abort_conditions[0] must be a condition such as', 'for ever'],
  },
  {
    title: 'unknown field',
    yaml: variant('  rollback:\n', '  rolback: {}\n  rollback:\n'),
    expected: ['[0].rolback must be absent (unknown field)'],
  },
  {
    title: 'traffic above 100%',
    yaml: variant('traffic: 100%', 'traffic: 150%'),
    expected: ['[0].blast_radius.traffic must be a share between 0 and 1', '(received "150%")'],
  },
  {
    title: 'bad target name',
    yaml: variant('target: payment-svc, latency', 'target: Payment Svc, latency'),
    expected: ['[0].fault.target must be a service name or an edge', '"Payment Svc"'],
  },
  {
    title: 'detected not boolean',
    yaml: variant('detected: true', 'detected: yes-please'),
    expected: ['[0].hypothesis.expect.detected must be a boolean', '"yes-please"'],
  },
  {
    title: 'empty catalog',
    yaml: '[]\n',
    expected: ['(root) must be a list of at least one experiment', '(received [])'],
  },
];

const calls: string[] = [];
const countingDriver: FaultDriver = {
  name: 'test-counting',
  supports: () => true,
  checkRequirements: async () => {
    calls.push('checkRequirements');
    return [];
  },
  plan: async (fault) => {
    calls.push('plan');
    return {
      driver: 'test-counting',
      mechanism: 'none',
      faultType: fault.type,
      target: fault.target,
      data: {},
    };
  },
  apply: async () => void calls.push('apply'),
  verify: async () => ({ manifested: true, detail: '' }),
  rollback: async () => void calls.push('rollback'),
};

describe('loadCatalog', () => {
  const dir = mkdtempSync(join(tmpdir(), 'catalog-test-'));
  let unregister: () => void;
  beforeAll(() => {
    unregister = registerDriver(countingDriver);
  });
  afterAll(() => {
    unregister();
    rmSync(dir, { recursive: true, force: true });
  });

  it('loads a valid entry in milliseconds', () => {
    const file = join(dir, 'valid.yaml');
    writeFileSync(file, VALID_ENTRY);
    const [experiment] = loadCatalog(file).experiments;
    expect(experiment?.blastRadius.durationMs).toBe(60_000);
    expect(experiment?.measurement.detectionTimeoutMs).toBe(60_000);
    expect(experiment?.hypothesis.expect.mttdMaxMs).toBe(60_000);
    expect(experiment?.abortConditions[0]?.text).toBe('probe_pass_rate < 50% for 30s');
    expect(experiment?.source?.sha256).toMatch(/^[0-9a-f]{64}$/);
  });

  it.each(CASES)('rejects $title', ({ yaml, expected }) => {
    const file = join(dir, 'experiments.yaml');
    writeFileSync(file, yaml);
    let caught: unknown;
    try {
      loadCatalog(file);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(SchemaError);
    const message = (caught as SchemaError).message;
    for (const part of expected) expect(message).toContain(part);
    expect(calls).toEqual([]);
  });

  it('reports every problem at once', () => {
    const file = join(dir, 'experiments.yaml');
    const broken = variant('latency: 500ms', 'latency: 5x').replace(
      'duration: 60s',
      'duration: soon',
    );
    writeFileSync(file, broken + secondEntry('2', 'other').replace('type: latency', 'type: nope'));
    const error = (() => {
      try {
        loadCatalog(file);
      } catch (caught) {
        return caught as SchemaError;
      }
      throw new Error('no error');
    })();
    expect(error.code).toBe('SCHEMA_INVALID');
    expect(error.issues.map((issue) => issue.path)).toEqual([
      '[0].fault.latency',
      '[0].blast_radius.duration',
      '[1].fault.type',
    ]);
  });
});

describe('defineExperiment', () => {
  it('applies the catalog schema', () => {
    expect(() =>
      defineExperiment({
        id: 'x',
        name: 'x',
        hypothesis: { text: 't', expect: { detected: true } },
        fault: { type: 'latency', target: 'a', latency: '1 hour' },
        blast_radius: { target: 'a', duration: '10s' },
        ground_truth: { root_service: 'a' },
      }),
    ).toThrow('defineExperiment: fault.latency must be a non-negative duration');
  });
});
