import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { createProgressReporter, formatPercent } from '../../src/harness/steady/progress.ts';

function capture() {
  const stream = new PassThrough();
  const lines: string[] = [];
  stream.on('data', (chunk: Buffer) => lines.push(...chunk.toString().split('\n').filter(Boolean)));
  return { stream, lines };
}

describe('createProgressReporter', () => {
  it('limits lines of one phase to one per interval', () => {
    const { stream, lines } = capture();
    let nowMs = 0;
    const report = createProgressReporter(stream, { intervalMs: 5_000, now: () => nowMs });
    report('waiting for steady state: probe 90% (needs 99%), 60s left');
    nowMs = 4_999;
    report('waiting for steady state: probe 95% (needs 99%), 55s left');
    nowMs = 5_000;
    report('waiting for steady state: probe 97% (needs 99%), 55s left');
    expect(lines).toEqual([
      'waiting for steady state: probe 90% (needs 99%), 60s left',
      'waiting for steady state: probe 97% (needs 99%), 55s left',
    ]);
  });

  it('writes a new phase at once', () => {
    const { stream, lines } = capture();
    const report = createProgressReporter(stream, { intervalMs: 60_000, now: () => 0 });
    report('waiting for steady state: probe 90% (needs 99%), 60s left');
    report('cooling down (fixed): 20s left');
    report('cooling down (fixed): 19s left');
    expect(lines).toEqual([
      'waiting for steady state: probe 90% (needs 99%), 60s left',
      'cooling down (fixed): 20s left',
    ]);
  });
});

describe('formatPercent', () => {
  it('shows whole and fractional percentages', () => {
    expect(formatPercent(0.99)).toBe('99%');
    expect(formatPercent(0.975)).toBe('97.5%');
    expect(formatPercent(1)).toBe('100%');
  });
});
