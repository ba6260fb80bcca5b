import { spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// A chaos run with a broken catalog must stop before the campaign starts anything: no stack, no
// run folder, no journal entry, and the output names the problem.

const ROOT = join(import.meta.dirname, '..', '..');
const RUNS_DIR = join(ROOT, '.chaos', 'runs');

const CATALOG = `- id: 1
  name: bad_latency
  hypothesis: { text: Latency on payment-svc., expect: { detected: true } }
  fault: { type: latency, target: payment-svc, latency: 5x }
  blast_radius: { target: payment-svc, traffic: 100%, duration: 30s }
  rollback: { automatic: true, method: remove the toxic }
  measurement: { metrics: [probe_pass_rate], capture_window: { before: 1m, after: 1m } }
  abort_conditions: []
  ground_truth: { root_service: payment-svc, also_correct: [], must_not_pick: [] }
`;

let workDir: string;

function listRunDirs(): string[] {
  return existsSync(RUNS_DIR) ? readdirSync(RUNS_DIR) : [];
}

describe('campaign with an invalid catalog', () => {
  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), 'chaos-invalid-catalog-'));
    writeFileSync(join(workDir, 'catalog.yaml'), CATALOG);
  });
  afterAll(() => rmSync(workDir, { recursive: true, force: true }));

  it('stops before the stack starts', () => {
    const runsBefore = listRunDirs();
    const journalDir = join(workDir, 'journal');
    const result = spawnSync(
      process.execPath,
      [
        join(ROOT, 'node_modules/vitest/vitest.mjs'),
        'run',
        '--project',
        'chaos',
        'chaos/10-catalog',
      ],
      {
        cwd: ROOT,
        encoding: 'utf8',
        timeout: 120_000,
        env: {
          ...process.env,
          CHAOS_CATALOG: join(workDir, 'catalog.yaml'),
          CHAOS_RESULTS_DIR: join(workDir, 'results'),
          CHAOS_JOURNAL_DIR: journalDir,
        },
      },
    );
    const output = `${result.stdout}${result.stderr}`;
    expect(result.status, output).toBe(1);
    expect(output).toContain('[0].fault.latency must be a non-negative duration');
    expect(output).toContain('(received "5x")');
    expect(output).not.toContain('campaign: starting');
    expect(listRunDirs()).toEqual(runsBefore);
    expect(existsSync(journalDir) ? readdirSync(journalDir) : []).toEqual([]);
  });
});
