import { execFile } from 'node:child_process';
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { recoverJournal } from '../harness/journal/recovery.ts';
import { watchdogStateSchema, type WatchdogState } from './watchdog.ts';

const POLL_INTERVAL_MS = 250;
const KILL_GRACE_MS = 5_000;

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

function readState(file: string): WatchdogState | undefined {
  if (!existsSync(file)) return undefined;
  try {
    return watchdogStateSchema.parse(JSON.parse(readFileSync(file, 'utf8')));
  } catch {
    return undefined;
  }
}

function signal(pid: number, name: NodeJS.Signals): void {
  try {
    process.kill(pid, name);
  } catch {
    // Already gone.
  }
}

async function stopProcesses(pids: number[]): Promise<void> {
  for (const pid of pids) {
    signal(pid, 'SIGCONT');
    signal(pid, 'SIGTERM');
  }
  const deadline = Date.now() + KILL_GRACE_MS;
  while (pids.some(isAlive) && Date.now() < deadline) await sleep(100);
  for (const pid of pids.filter(isAlive)) signal(pid, 'SIGKILL');
}

async function releaseStackHost(stateDir: string): Promise<void> {
  const configFile = join(stateDir, 'stack-config.json');
  if (!existsSync(configFile)) return;
  const { releaseHost } = await import('../../fixtures/stack/host-setup.ts');
  const { stackConfigSchema } = await import('../../fixtures/stack/config.ts');
  const config = stackConfigSchema.parse(JSON.parse(readFileSync(configFile, 'utf8')));
  await releaseHost(config);
}

function composeDown(compose: NonNullable<WatchdogState['compose']>): Promise<void> {
  return new Promise((resolve) => {
    execFile(
      'docker-compose',
      ['-p', compose.project, '-f', compose.file, 'down', '--volumes', '--timeout', '2'],
      { env: { ...process.env, CHAOS_STACK_DIR: compose.stateDir }, timeout: 120_000 },
      () => resolve(),
    );
  });
}

/** Cleans up in the order that keeps rollback possible: faults first, then processes, then host. */
async function cleanUp(state: WatchdogState): Promise<void> {
  await recoverJournal({
    dir: state.journalDir,
    scope: { runId: state.runId },
    driverModules: state.driverModules,
  }).catch(() => undefined);
  await stopProcesses(state.pids);
  if (state.compose) await composeDown(state.compose);
  if (state.stackStateDir) await releaseStackHost(state.stackStateDir).catch(() => undefined);
}

async function main(stateFile: string): Promise<void> {
  for (;;) {
    const state = readState(stateFile);
    if (!state) return;
    if (!isAlive(state.parentPid)) {
      await cleanUp(state);
      // The state file sits in the campaign's run folder, which goes with it.
      rmSync(dirname(stateFile), { recursive: true, force: true });
      return;
    }
    await sleep(POLL_INTERVAL_MS);
  }
}

const stateFile = process.argv[2];
if (stateFile) await main(stateFile);
