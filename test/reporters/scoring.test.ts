import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/harness/errors.ts';
import {
  DEFAULT_GATE_THRESHOLDS,
  evaluateGate,
  isRcaCorrect,
  nearestRankPercentile,
  pickMostAlertsService,
  readReporterSettings,
  renderScoreboard,
  scoreRcaBaselines,
  scoreRun,
} from '../../src/reporters/index.ts';
import { formatDuration } from '../../src/reporters/format/duration.ts';
import { CoalescingWriter, writeFileAtomic } from '../../src/reporters/results/writer.ts';
import { alert, baselineWindow, detected, experiment } from './fixtures/records.ts';
import { makeTempDir, removeTempDirs } from './run-fixture.ts';

afterAll(removeTempDirs);

describe('nearestRankPercentile', () => {
  it('picks ranks on known values', () => {
    const values = [40, 10, 30, 20, 50];
    expect(nearestRankPercentile(values, 50)).toBe(30);
    expect(nearestRankPercentile(values, 95)).toBe(50);
    expect(nearestRankPercentile(values, 20)).toBe(10);
    expect(nearestRankPercentile(values, 0)).toBe(10);
  });

  it('is undefined without values', () => {
    expect(nearestRankPercentile([], 50)).toBeUndefined();
  });

  it('uses the 95th of 20 values', () => {
    const values = Array.from({ length: 20 }, (_, i) => i + 1);
    expect(nearestRankPercentile(values, 95)).toBe(19);
    expect(nearestRankPercentile(values, 50)).toBe(10);
  });
});

describe('isRcaCorrect', () => {
  const truth = {
    rootService: 'payment-svc',
    alsoCorrect: ['payment-db'],
    mustNotPick: ['checkout-svc'],
  };
  it.each([
    ['payment-svc', true],
    ['payment-db', true],
    ['checkout-svc', false],
    ['auth-svc', false],
    [null, false],
    [undefined, false],
  ])('judges %s as %s', (service, expected) => {
    expect(isRcaCorrect(service, truth)).toBe(expected);
  });

  it('lets must-not-pick win over also-correct', () => {
    const overlapping = { rootService: 'a', alsoCorrect: ['b'], mustNotPick: ['b'] };
    expect(isRcaCorrect('b', overlapping)).toBe(false);
  });
});

describe('scoreRun', () => {
  it('keeps invalid and aborted out of recall', () => {
    const score = scoreRun(
      [
        detected('1', 'payment-svc', 1000),
        experiment('2', 'auth-svc', { status: 'invalid', reason: 'not steady' }),
        experiment('3', 'auth-svc', { status: 'aborted', reason: 'probe below 50%' }),
        experiment('4', 'auth-svc', { status: 'error', reason: 'driver crashed' }),
      ],
      [],
    );
    expect(score.total).toBe(4);
    expect(score.completed).toBe(1);
    expect(score.recall).toEqual({ defined: true, numerator: 1, denominator: 1, value: 1 });
    expect(score.notScored.map((n) => `${n.id} ${n.status} ${n.reason}`)).toEqual([
      '2 invalid not steady',
      '3 aborted probe below 50%',
      '4 error driver crashed',
    ]);
  });

  it('leaves ratios undefined on empty input', () => {
    const score = scoreRun([], []);
    expect(score.precision).toMatchObject({ defined: false, reason: 'no baseline windows' });
    expect(score.recall).toMatchObject({ defined: false, reason: 'no completed experiments' });
    expect(score.rcaAccuracy).toMatchObject({ defined: false, reason: 'no detected experiments' });
  });

  it('fills the confusion matrix', () => {
    const score = scoreRun(
      [detected('1', 'a', 1000), experiment('2', 'b')],
      [baselineWindow(), baselineWindow([alert('x', 'c', 0)])].map((w, i) => ({
        ...w,
        startedAtMs: i,
      })),
    );
    expect(score.matrix).toEqual({
      truePositives: 1,
      falseNegatives: 1,
      falsePositives: 1,
      trueNegatives: 1,
    });
    expect(score.precision).toMatchObject({ value: 0.5 });
  });

  it('does not count a window with pipeline errors as quiet', () => {
    const failing = {
      ...baselineWindow(),
      pipelineErrors: [{ stage: 'alerts' as const, message: 'HTTP 500', excerpt: 'boom', atMs: 0 }],
    };
    const score = scoreRun([detected('1', 'a', 1000)], [failing]);
    expect(score.matrix.trueNegatives).toBe(0);
    expect(score.falseAlarms).toBe(0);
    expect(score.notScored).toEqual([
      {
        id: 'baseline window',
        name: 'baseline window',
        status: 'unreliable',
        reason:
          'no alert seen, but 1 pipeline error(s) while watching, so false alarms may be missing (first: alerts: HTTP 500)',
      },
    ]);
  });

  it.each([
    {
      windows: 1,
      failing: 1,
      line: 'False alarms in baseline windows: unknown (every baseline window had failed pipeline polls, see Not scored)',
      gate: 'skipped',
    },
    {
      windows: 2,
      failing: 1,
      line: 'False alarms in baseline windows: 0 (1 of 2 baseline windows had failed pipeline polls and may miss some, see Not scored)',
      gate: 'passed',
    },
  ])('shows false alarms as uncertain with $failing of $windows windows failing', (row) => {
    const failing = {
      ...baselineWindow(),
      pipelineErrors: [{ stage: 'alerts' as const, message: 'HTTP 500', excerpt: 'boom', atMs: 0 }],
    };
    const windows = [
      failing,
      ...Array.from({ length: row.windows - row.failing }, () => baselineWindow()),
    ];
    const score = scoreRun([detected('1', 'a', 1000)], windows);
    expect(score.unreliableWindows).toBe(row.failing);
    const gate = evaluateGate(score, DEFAULT_GATE_THRESHOLDS);
    expect(renderScoreboard(score, { mode: 'on', result: gate })).toContain(row.line);
    const check = gate.checks.find((c) => c.bound === 'false_alarms');
    expect(check?.status).toBe(row.gate);
  });

  it('orders ids numerically', () => {
    const score = scoreRun([experiment('10', 'a'), experiment('2', 'a'), experiment('1', 'a')], []);
    expect(score.outcomes.map((o) => o.id)).toEqual(['1', '2', '10']);
  });

  it('flags a detection slower than the hypothesis', () => {
    const score = scoreRun([detected('1', 'payment-svc', 75_000)], []);
    expect(score.gaps).toEqual([
      expect.objectContaining({
        stage: 'detector (slow)',
        symptom: 'first alert after 75s, hypothesis allows 60s',
      }),
    ]);
  });
});

describe('RCA baselines', () => {
  it('scores first-alert and most-alerts rules', () => {
    const alerts = [
      alert('1', 'checkout-svc', 1000),
      alert('2', 'payment-svc', 2000),
      alert('3', 'payment-svc', 3000),
    ];
    const record = detected('1', 'payment-svc', 1000, 'payment-svc', {
      detection: { detected: true, alerts },
    });
    const [firstAlert, mostAlerts] = scoreRcaBaselines([record]);
    expect(firstAlert?.picks).toEqual({ '1': 'checkout-svc' });
    expect(firstAlert?.accuracy).toMatchObject({ value: 0 });
    expect(mostAlerts?.picks).toEqual({ '1': 'payment-svc' });
    expect(mostAlerts?.accuracy).toMatchObject({ value: 1 });
  });

  it('breaks a most-alerts tie by first alert', () => {
    const alerts = [
      alert('1', 'b', 2000),
      alert('2', 'a', 1000),
      alert('3', 'b', 3000),
      alert('4', 'a', 4000),
    ];
    expect(
      pickMostAlertsService(detected('1', 'a', 0, 'a', { detection: { detected: true, alerts } })),
    ).toBe('a');
  });
});

describe('evaluateGate', () => {
  const withDetected = (count: number) =>
    scoreRun(
      Array.from({ length: 10 }, (_, i) =>
        i < count ? detected(String(i), 'a', 1000) : experiment(String(i), 'a'),
      ),
      [baselineWindow()],
    );

  it('passes exactly at 70%', () => {
    const result = evaluateGate(withDetected(7), DEFAULT_GATE_THRESHOLDS);
    expect(result.passed).toBe(true);
    expect(result.checks[0]?.message).toBe('detected 7/10 = 70% >= 70%');
  });

  it('names the shortfall at 60%', () => {
    const result = evaluateGate(withDetected(6), DEFAULT_GATE_THRESHOLDS);
    expect(result.passed).toBe(false);
    expect(result.checks[0]?.message).toBe('detected 6/10 = 60% < 70% (short by 1 experiment)');
  });

  it('fails when nothing completed', () => {
    const score = scoreRun([experiment('1', 'a', { status: 'invalid', reason: 'x' })], []);
    const result = evaluateGate(score, DEFAULT_GATE_THRESHOLDS);
    expect(result.passed).toBe(false);
    expect(result.checks[0]?.message).toBe('detected 0/0: none of the 1 experiments completed');
  });
});

describe('readReporterSettings', () => {
  const root = makeTempDir('chaos-settings');

  it('defaults to 70%, 70% and one alarm', () => {
    const settings = readReporterSettings({}, root);
    expect(settings.thresholds).toEqual(DEFAULT_GATE_THRESHOLDS);
    expect(settings.resultsDir).toBe(join(root, 'chaos-results'));
  });

  it('reads bounds from the environment', () => {
    const env = {
      CHAOS_GATE_DETECTED_MIN: '80%',
      CHAOS_GATE_RCA_CORRECT_MIN: '0.5',
      CHAOS_GATE_FALSE_ALARMS_MAX: '0',
    };
    expect(readReporterSettings(env, root).thresholds).toEqual({
      detectedMin: 0.8,
      rcaCorrectMin: 0.5,
      falseAlarmsMax: 0,
    });
  });

  it('turns the gate off', () => {
    expect(readReporterSettings({ CHAOS_GATE: 'off' }, root).thresholds).toBeUndefined();
  });

  it('rejects a bound above 100%', () => {
    const read = () => readReporterSettings({ CHAOS_GATE_DETECTED_MIN: '170%' }, root);
    expect(read).toThrow(ConfigError);
    expect(read).toThrow('CHAOS_GATE_DETECTED_MIN');
  });
});

describe('results writer', () => {
  it('replaces the file without leftovers', () => {
    const folder = makeTempDir('chaos-writer');
    writeFileAtomic(folder, 'out.json', '{"a":1}');
    writeFileAtomic(folder, 'out.json', '{"a":2}');
    expect(readFileSync(join(folder, 'out.json'), 'utf8')).toBe('{"a":2}');
    expect(readdirSync(folder)).toEqual(['out.json']);
  });

  it('coalesces bursts and flushes the rest', () => {
    let nowMs = 0;
    let writes = 0;
    const writer = new CoalescingWriter(
      () => (writes += 1),
      () => {},
      250,
      () => nowMs,
    );
    writer.update();
    writer.update();
    writer.update();
    expect(writes).toBe(1);
    nowMs = 300;
    writer.flush();
    expect(writes).toBe(2);
    writer.flush();
    expect(writes).toBe(2);
  });
});

describe('formatDuration', () => {
  it.each([
    [850, '850ms'],
    [4200, '4.2s'],
    [4000, '4s'],
    [23_400, '23s'],
    [90_000, '90s'],
    [-1500, '-1.5s'],
  ])('formats %d ms as %s', (durationMs, text) => {
    expect(formatDuration(durationMs)).toBe(text);
  });
});
