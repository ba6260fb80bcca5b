import { spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// The README's `npx vitest --ui chaos/`: the UI server comes up on loopback, the campaign runs
// one short experiment, and the UI serves its page while the results file records the verdict.
// No browser is started here (Chromium would reach outside hosts).

const ROOT = join(import.meta.dirname, '..', '..');
const RUN_WAIT_MS = 150_000;

const CATALOG = `- id: 1
  name: payment_latency_ui
  hypothesis:
    text: With +300ms on payment-svc the pipeline raises an alert.
    expect: { detected: true, rca: payment-svc }
  fault: { type: latency, target: payment-svc, latency: 300ms }
  blast_radius: { target: payment-svc, traffic: 100%, duration: 12s }
  rollback: { automatic: true, method: remove the toxics }
  measurement: { metrics: [probe_pass_rate], capture_window: { before: 1m, after: 1m } }
  abort_conditions: []
  ground_truth: { root_service: payment-svc, also_correct: [], must_not_pick: [] }
`;

const CONFIG = {
  profileOverrides: {
    steadyStateWindowMs: 3_000,
    baselineCaptureMs: 5_000,
    baselineWindowMs: 1_000,
    faultDurationScale: 1,
    minFaultDurationMs: 0,
    cooldownMaxMs: 1_000,
    recoveryTimeoutMs: 5_000,
  },
};

let workDir: string;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

async function fetchStatus(url: string): Promise<number | undefined> {
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
    await response.text();
    return response.status;
  } catch {
    return undefined;
  }
}

describe('vitest --ui on a campaign', () => {
  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), 'chaos-ui-'));
    writeFileSync(join(workDir, 'catalog.yaml'), CATALOG);
    writeFileSync(join(workDir, 'config.json'), JSON.stringify(CONFIG));
  });
  afterAll(() => rmSync(workDir, { recursive: true, force: true }));

  it(
    'serves the UI and records the run',
    async () => {
      const port = await freePort();
      const resultsFile = join(workDir, 'results', 'chaos_results.json');
      const child = spawn(
        process.execPath,
        [
          join(ROOT, 'node_modules/vitest/vitest.mjs'),
          '--ui',
          '--watch',
          '--open=false',
          '--api.host',
          '127.0.0.1',
          '--api.port',
          String(port),
          'chaos/10-catalog',
        ],
        {
          cwd: ROOT,
          detached: true,
          stdio: 'ignore',
          env: {
            ...process.env,
            CHAOS_CONFIG: join(workDir, 'config.json'),
            CHAOS_CATALOG: join(workDir, 'catalog.yaml'),
            CHAOS_RESULTS_DIR: join(workDir, 'results'),
            CHAOS_JOURNAL_DIR: join(workDir, 'journal'),
          },
        },
      );
      try {
        let uiStatus: number | undefined;
        let recorded = false;
        const deadline = Date.now() + RUN_WAIT_MS;
        while (Date.now() < deadline && !(uiStatus === 200 && recorded)) {
          expect(child.exitCode, 'vitest --ui exited early').toBeNull();
          uiStatus = await fetchStatus(`http://127.0.0.1:${port}/__vitest__/`);
          recorded =
            existsSync(resultsFile) &&
            readFileSync(resultsFile, 'utf8').includes('"name": "payment_latency_ui"');
          await sleep(1_000);
        }
        expect(uiStatus).toBe(200);
        expect(recorded).toBe(true);
      } finally {
        // Ctrl-C, as a user stops the UI; the campaign's watchdog cleans up after it.
        process.kill(-child.pid!, 'SIGINT');
        await new Promise((resolve) => {
          if (child.exitCode !== null || child.signalCode !== null) resolve(undefined);
          else child.once('exit', resolve);
        });
      }
    },
    RUN_WAIT_MS + 20_000,
  );
});
