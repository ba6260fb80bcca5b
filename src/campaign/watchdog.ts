import { spawn } from 'node:child_process';
import { renameSync, rmSync, writeFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';

/**
 * State the watchdog cleans up when the campaign's process ends without its teardown. Vitest
 * exits on Ctrl-C and SIGTERM without running globalSetup teardown, and `kill -9` runs nothing.
 */
export const watchdogStateSchema = z.object({
  parentPid: z.number().int(),
  runId: z.string(),
  journalDir: z.string(),
  driverModules: z.array(z.string()),
  /** Processes the campaign started (Toxiproxy, the stack's supervisor, the pipeline). */
  pids: z.array(z.number().int()),
  /** State folder of the embedded stack, whose cgroups and mounts are released last. */
  stackStateDir: z.string().optional(),
  /** Docker Compose project of the embedded stack under Docker, removed with `down`. */
  compose: z.object({ project: z.string(), file: z.string(), stateDir: z.string() }).optional(),
});
export type WatchdogState = z.infer<typeof watchdogStateSchema>;

/** A detached process that cleans up after the campaign if the campaign's process dies. */
export interface Watchdog {
  /** Rewrites the state the watchdog acts on. */
  update(state: WatchdogState): void;
  /**
   * Tells the watchdog the campaign cleaned up by itself, so it exits without acting, and waits
   * up to `timeoutMs` (default 5000) for it to exit.
   */
  disarm(timeoutMs?: number): Promise<void>;
}

/** Starts the watchdog in its own session, so a Ctrl-C sent to the terminal's group misses it. */
export function startWatchdog(stateFile: string, state: WatchdogState): Watchdog {
  const update = (next: WatchdogState): void => {
    writeFileSync(`${stateFile}.tmp`, JSON.stringify(next));
    renameSync(`${stateFile}.tmp`, stateFile);
  };
  update(state);
  const entry = fileURLToPath(new URL('./watchdog-main.ts', import.meta.url));
  const child = spawn(process.execPath, ['--import', 'tsx', entry, stateFile], {
    detached: true,
    stdio: 'ignore',
    env: process.env,
  });
  child.unref();
  const disarm = async (timeoutMs = 5_000): Promise<void> => {
    rmSync(stateFile, { force: true });
    const deadline = Date.now() + timeoutMs;
    while (child.exitCode === null && child.signalCode === null && Date.now() < deadline) {
      await sleep(50);
    }
  };
  return { update, disarm };
}
