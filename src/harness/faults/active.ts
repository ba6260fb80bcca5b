import { createLogger } from '../log.ts';
import type { ActiveFault } from './lifecycle.ts';

const log = createLogger('fault');
const active = new Set<ActiveFault>();
let handlersInstalled = false;
/** Set once this process was told to stop; no fault may be injected after that. */
let stoppingReason: string | undefined;

/** Throws when this process is stopping (a signal, or the Vitest main process died). */
export function assertNotStopping(): void {
  if (stoppingReason !== undefined) {
    throw new Error(`Not injecting: this process is stopping (${stoppingReason}).`);
  }
}

/** Adds a fault to the set rolled back when this process is interrupted. */
export function trackActiveFault(fault: ActiveFault): void {
  active.add(fault);
  installProcessHandlers();
}

/** Removes a fault from that set, after its rollback. */
export function untrackActiveFault(fault: ActiveFault): void {
  active.delete(fault);
}

/** Returns the faults of this process that are still in place. */
export function activeFaults(): ActiveFault[] {
  return [...active];
}

/**
 * Rolls back every fault of this process that is still in place. Failures are logged, not
 * thrown, so one stuck fault does not keep the others in place; their journal entries stay.
 */
export async function rollbackAllActive(reason: string): Promise<{ failed: number }> {
  const faults = activeFaults();
  if (faults.length > 0) log('rolling back %d active fault(s): %s', faults.length, reason);
  const results = await Promise.allSettled(faults.map((fault) => fault.rollback()));
  const failed = results.filter((result) => result.status === 'rejected');
  for (const result of failed) log('rollback failed during %s: %O', reason, result.reason);
  return { failed: failed.length };
}

const SIGNAL_EXIT_CODES = { SIGINT: 130, SIGTERM: 143 } as const;

/**
 * Installs, once per process, the handlers that roll faults back on SIGINT and SIGTERM (then
 * exit with 130 or 143) and on the loss of the IPC channel to the parent. A Vitest worker
 * notices that the main process died by that loss.
 */
function installProcessHandlers(): void {
  if (handlersInstalled) return;
  handlersInstalled = true;
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    process.once(signal, () => {
      stoppingReason ??= signal;
      process.exitCode = SIGNAL_EXIT_CODES[signal];
      void rollbackAllActive(signal).finally(() => exitAfterSignal(signal));
    });
  }
  process.once('disconnect', () => {
    // The parent is gone, so nothing will collect this worker's results: roll back and stop
    // instead of running the next experiments as an orphan.
    stoppingReason ??= 'lost the IPC channel to the parent process';
    void rollbackAllActive(stoppingReason).finally(() => process.kill(process.pid, 'SIGTERM'));
  });
}

function exitAfterSignal(signal: 'SIGINT' | 'SIGTERM'): void {
  // Vitest replaces process.exit inside workers, so the signal is raised again with its default
  // action, unless another listener keeps the process alive, in which case exit is called too.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  else process.exit(SIGNAL_EXIT_CODES[signal]);
}
