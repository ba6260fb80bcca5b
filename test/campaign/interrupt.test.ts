import { spawn, type ChildProcess } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

// A whole campaign (Toxiproxy, the embedded stack, the reference pipeline, the probe) runs one
// CPU-saturation experiment, and the Vitest process is stopped while the fault is active. The
// fault leaves real state that outlives Vitest unless it is rolled back: a stress-ng process and
// a cpu cgroup. Each case checks that state, the campaign's processes and the journal afterwards.

const ROOT = join(import.meta.dirname, '..', '..');
const FAULT_WAIT_MS = 90_000;
const CLEANUP_WAIT_MS = 30_000;
const RUNS_DIR = join(ROOT, '.chaos', 'runs');

const CATALOG = `- id: 1
  name: gateway_cpu_interrupted
  hypothesis:
    text: The run is stopped while api-gateway's CPU is saturated.
    expect: { detected: true }
  fault: { type: cpu_saturation, target: api-gateway, load: 100, workers: 1, cpu_limit: 0.5 }
  blast_radius: { target: api-gateway, traffic: 100%, duration: 5m }
  rollback: { automatic: true, method: stop stress-ng and remove the cgroup }
  measurement: { metrics: [probe_pass_rate], capture_window: { before: 1m, after: 1m } }
  abort_conditions: []
  ground_truth: { root_service: api-gateway, also_correct: [], must_not_pick: [] }
`;

const CONFIG = {
  profileOverrides: {
    steadyStateWindowMs: 3_000,
    baselineCaptureMs: 5_000,
    baselineWindowMs: 1_000,
    faultDurationScale: 1,
    cooldownMaxMs: 1_000,
    recoveryTimeoutMs: 3_000,
  },
};

let workDir: string;

/** Lists a process and all its descendants, from /proc. */
function processTree(rootPid: number): number[] {
  const children = new Map<number, number[]>();
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const parentPid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      children.set(parentPid, [...(children.get(parentPid) ?? []), Number(entry)]);
    } catch {
      // The process ended while the list was read.
    }
  }
  const tree = [rootPid];
  for (let index = 0; index < tree.length; index += 1) {
    tree.push(...(children.get(tree[index]!) ?? []));
  }
  return tree;
}

/** True when the process runs: a zombie waiting for its parent counts as gone. */
function isRunning(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return false;
  }
}

function commandOf(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ').trim();
  } catch {
    return '';
  }
}

interface ActiveFaultState {
  journalDir: string;
  runDirs: string[];
  cgroup: string;
  campaignPids: number[];
}

function listRunDirs(): string[] {
  return existsSync(RUNS_DIR) ? readdirSync(RUNS_DIR).map((run) => join(RUNS_DIR, run)) : [];
}

function startCampaign(name: string): { child: ChildProcess; journalDir: string } {
  const journalDir = join(workDir, name, 'journal');
  mkdirSync(join(workDir, name), { recursive: true });
  const log = openSync(join(workDir, name, 'vitest.log'), 'w');
  const child = spawn(
    process.execPath,
    [join(ROOT, 'node_modules/vitest/vitest.mjs'), 'run', '--project', 'chaos', 'chaos/10-catalog'],
    {
      cwd: ROOT,
      detached: true,
      stdio: ['ignore', log, log],
      env: {
        ...process.env,
        CHAOS_CONFIG: join(workDir, 'config.json'),
        CHAOS_CATALOG: join(workDir, 'catalog.yaml'),
        CHAOS_RESULTS_DIR: join(workDir, name, 'results'),
        CHAOS_JOURNAL_DIR: journalDir,
        CHAOS_GATE: 'off',
      },
    },
  );
  closeSync(log);
  return { child, journalDir };
}

/** Explains why a campaign ended before its fault: the experiment's status and reason, or its log. */
function whyEnded(journalDir: string): string {
  const folder = dirname(journalDir);
  try {
    const results = JSON.parse(readFileSync(join(folder, 'results', 'chaos_results.json'), 'utf8'));
    const record = results.experiments?.[0]?.record;
    if (record) return `Vitest exited before the fault: ${record.status}: ${record.reason}`;
  } catch {
    // No results file yet, so the log is the only evidence.
  }
  const log = readFileSync(join(folder, 'vitest.log'), 'utf8');
  return `Vitest exited before the fault; its output ends with:\n${log.slice(-3_000)}`;
}

/** Waits until the fault is in the journal and its stress-ng runs, then reads its state. */
async function waitForActiveFault(
  child: ChildProcess,
  journalDir: string,
  runDirsBefore: string[],
): Promise<ActiveFaultState> {
  const deadline = Date.now() + FAULT_WAIT_MS;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(whyEnded(journalDir));
    const files = existsSync(journalDir)
      ? readdirSync(journalDir).filter((file) => file.endsWith('.json'))
      : [];
    if (files.length > 0) {
      const entry = JSON.parse(readFileSync(join(journalDir, files[0]!), 'utf8')) as {
        plan: { data: { cgroup?: string } };
      };
      const cgroup = entry.plan.data.cgroup;
      const tasks = cgroup && existsSync(join(cgroup, 'cgroup.procs'));
      if (
        cgroup &&
        tasks &&
        readFileSync(join(cgroup, 'cgroup.procs'), 'utf8').trim().split('\n').length >= 2
      ) {
        return {
          journalDir,
          cgroup,
          campaignPids: processTree(child.pid!).slice(1),
          // Other campaigns may run at the same time; only this one's folder is checked.
          runDirs: listRunDirs().filter((dir) => !runDirsBefore.includes(dir)),
        };
      }
    }
    await sleep(500);
  }
  throw new Error(`No active fault in ${journalDir} after ${FAULT_WAIT_MS} ms`);
}

/** Waits until nothing of the campaign is left, then returns what still is. */
async function leftoversAfter(state: ActiveFaultState): Promise<string[]> {
  const deadline = Date.now() + CLEANUP_WAIT_MS;
  let leftovers: string[] = [];
  while (Date.now() < deadline) {
    leftovers = [];
    const entries = existsSync(state.journalDir) ? readdirSync(state.journalDir) : [];
    if (entries.some((file) => file.endsWith('.json')))
      leftovers.push(`journal: ${entries.join(', ')}`);
    if (existsSync(state.cgroup)) leftovers.push(`cgroup ${state.cgroup}`);
    for (const runDir of state.runDirs.filter((dir) => existsSync(dir))) {
      leftovers.push(`run folder ${runDir}`);
    }
    for (const pid of state.campaignPids.filter(isRunning))
      leftovers.push(`process ${pid}: ${commandOf(pid)}`);
    if (leftovers.length === 0) return leftovers;
    await sleep(500);
  }
  return leftovers;
}

describe('campaign interrupted with a fault active', () => {
  beforeAll(() => {
    workDir = mkdtempSync(join(tmpdir(), 'chaos-interrupt-'));
    writeFileSync(join(workDir, 'catalog.yaml'), CATALOG);
    writeFileSync(join(workDir, 'config.json'), JSON.stringify(CONFIG));
  });
  afterAll(() => rmSync(workDir, { recursive: true, force: true }));

  const cases: { name: string; stop: (child: ChildProcess) => void }[] = [
    // Ctrl-C in a terminal signals the whole foreground process group.
    { name: 'Ctrl-C', stop: (child) => process.kill(-child.pid!, 'SIGINT') },
    { name: 'SIGTERM', stop: (child) => child.kill('SIGTERM') },
    { name: 'kill -9', stop: (child) => child.kill('SIGKILL') },
  ];

  for (const { name, stop } of cases) {
    it(
      `cleans up after ${name}`,
      async () => {
        const runDirsBefore = listRunDirs();
        const { child, journalDir } = startCampaign(name.replace(/\W/g, ''));
        try {
          const state = await waitForActiveFault(child, journalDir, runDirsBefore);
          expect(state.runDirs).toHaveLength(1);
          expect(state.campaignPids.length).toBeGreaterThan(10);
          stop(child);
          expect(await leftoversAfter(state)).toEqual([]);
        } finally {
          if (child.exitCode === null && child.signalCode === null)
            process.kill(-child.pid!, 'SIGKILL');
        }
      },
      FAULT_WAIT_MS + CLEANUP_WAIT_MS + 10_000,
    );
  }
});
