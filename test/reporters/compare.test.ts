import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { compareVerdicts, readComparedRun, verdictOf } from '../../src/reporters/compare.ts';
import { runCli } from '../harness/support/cli.ts';

function outcome(id: string, fields: Record<string, unknown> = {}) {
  return {
    id,
    name: `experiment_${id}`,
    status: 'completed' as const,
    scored: true,
    detected: true,
    mustNotPickViolated: false,
    rcaService: 'payment-svc',
    rcaCorrect: true,
    mttdMs: 5_000,
    ...fields,
  };
}

let dir: string;

function writeRun(name: string, outcomes: ReturnType<typeof outcome>[], complete = true): string {
  const path = join(dir, `${name}.json`);
  const experiments = outcomes.map((entry) => ({ outcome: entry }));
  writeFileSync(path, JSON.stringify({ kind: 'vitest-chaos-results', complete, experiments }));
  return path;
}

function cli(...args: string[]) {
  return runCli(['compare', ...args]);
}

describe('verdict comparison', () => {
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'chaos-compare-'));
  });

  afterEach(() => {
    rmSync(dir, { recursive: true, force: true });
  });

  it('names each verdict', () => {
    expect(verdictOf(outcome('1'))).toBe('detected, RCA right (payment-svc)');
    expect(verdictOf(outcome('1', { detected: false }))).toBe('missed');
    expect(verdictOf(outcome('1', { status: 'aborted' }))).toBe('aborted');
    expect(
      verdictOf(
        outcome('1', { rcaCorrect: false, rcaService: 'cache-svc', mustNotPickViolated: true }),
      ),
    ).toBe('detected, RCA wrong (cache-svc, must not pick)');
    expect(verdictOf(outcome('1', { rcaCorrect: undefined }))).toBe('detected, no RCA');
    expect(verdictOf(outcome('1', { mttdOverMaxMs: 4_000 }))).toBe(
      'detected late, RCA right (payment-svc)',
    );
  });

  it('tells a late detection from one in time', () => {
    const comparison = compareVerdicts([outcome('1')], [outcome('1', { mttdOverMaxMs: 4_000 })]);
    expect(comparison.same).toBe(0);
  });

  it('tells a must-not-pick root from another wrong root', () => {
    const comparison = compareVerdicts(
      [outcome('1', { rcaCorrect: false, rcaService: 'cache-svc' })],
      [outcome('1', { rcaCorrect: false, rcaService: 'inventory-svc', mustNotPickViolated: true })],
    );
    expect(comparison.same).toBe(0);
  });

  it('matches experiments by id', () => {
    const first = [outcome('1'), outcome('2'), outcome('3', { detected: false })];
    const second = [
      outcome('3', { detected: false }),
      outcome('1', { mttdMs: 9_000 }),
      outcome('2', { rcaCorrect: false, rcaService: 'cache-svc' }),
      outcome('4'),
    ];
    const comparison = compareVerdicts(first, second);
    expect(comparison.total).toBe(4);
    expect(comparison.same).toBe(2);
    expect(comparison.rows.map((row) => [row.id, row.same])).toEqual([
      ['1', true],
      ['2', false],
      ['3', true],
      ['4', false],
    ]);
    expect(comparison.rows[3]?.first).toBeUndefined();
  });

  it('treats two wrong picks as one verdict', () => {
    const comparison = compareVerdicts(
      [outcome('1', { rcaCorrect: false, rcaService: 'cache-svc' })],
      [outcome('1', { rcaCorrect: false, rcaService: 'inventory-svc' })],
    );
    expect(comparison.same).toBe(1);
  });

  it('exits 0 when every verdict matches', () => {
    const first = writeRun('first', [outcome('1'), outcome('2', { detected: false })]);
    const second = writeRun('second', [
      outcome('1', { mttdMs: 7_500 }),
      outcome('2', { detected: false }),
    ]);
    const result = cli(first, second);
    expect(result.code).toBe(0);
    expect(result.output).toContain('2 of 2 experiments have the same verdict.');
    expect(result.output).toContain('in 7.5s');
  });

  it('exits 1 and marks a differing verdict', () => {
    const first = writeRun('first', [outcome('1'), outcome('2')]);
    const second = writeRun('second', [outcome('1'), outcome('2', { detected: false })], false);
    const result = cli(first, second);
    expect(result.code).toBe(1);
    expect(result.output).toMatch(
      /DIFF\s+2 experiment_2\s+detected, RCA right \(payment-svc\) in 5s\s+\|\s+missed/,
    );
    expect(result.output).toContain('did not finish');
    expect(result.output).toContain('1 of 2 experiments have the same verdict.');
  });

  it('prints JSON with --json', () => {
    const first = writeRun('first', [outcome('1')]);
    const result = cli(first, first, '--json');
    expect(result.code).toBe(0);
    const parsed = JSON.parse(result.output) as { same: number; total: number };
    expect(parsed).toMatchObject({ same: 1, total: 1 });
  });

  it('rejects a missing or foreign file with exit 2', async () => {
    const foreign = join(dir, 'foreign.json');
    writeFileSync(foreign, JSON.stringify({ kind: 'something-else', experiments: [] }));
    const missing = cli(join(dir, 'nothing.json'), foreign);
    expect(missing.code).toBe(2);
    expect(missing.output).toContain('nothing.json was not found');
    const wrong = cli(foreign, foreign);
    expect(wrong.code).toBe(2);
    expect(wrong.output).toContain('is not a vitest-chaos results file: kind');
    await expect(readComparedRun(foreign)).rejects.toThrow(/Pass the chaos_results.json/);
    expect(cli(foreign).code).toBe(2);
  });

  it('rejects an empty folder or run', () => {
    const folder = mkdtempSync(join(dir, 'empty-'));
    const noResults = cli(folder, folder);
    expect(noResults.code).toBe(2);
    expect(noResults.output).toContain(`Folder ${folder} has no chaos_results.json`);
    const empty = writeRun('empty', []);
    const nothing = cli(empty, empty);
    expect(nothing.code).toBe(2);
    expect(nothing.output).toContain('has any experiment to compare');
  });

  it('reads the results file from its folder', async () => {
    const folder = mkdtempSync(join(dir, 'run-'));
    writeFileSync(
      join(folder, 'chaos_results.json'),
      JSON.stringify({ kind: 'vitest-chaos-results', complete: true, experiments: [] }),
    );
    const run = await readComparedRun(folder);
    expect(run.path).toBe(join(folder, 'chaos_results.json'));
    expect(run.outcomes).toEqual([]);
  });
});
