import type { EventEmitter } from 'node:events';
import { createLogger } from '../log.ts';
import type { ActiveFault } from './lifecycle.ts';

const log = createLogger('fault');
const active = new Set<ActiveFault>();
/** Injections in flight: a stop waits for them, so a fault applied meanwhile is rolled back. */
const injecting = new Set<Promise<unknown>>();
/** How long a stop waits for injections in flight before it rolls back what it has. */
const INJECTION_SETTLE_MS = 15_000;
/** How long a worker that lost its parent spends on rollback before it exits anyway. */
const LOST_PARENT_ROLLBACK_MS = 30_000;
const LOST_PARENT = 'lost the IPC channel to the parent process';
let handlersInstalled = false;
/** The rollback started when the parent was lost, shared by every path that notices the loss. */
let lostParentRollback: Promise<void> | undefined;
/** Set once this process was told to stop; no fault may be injected after that. */
let stoppingReason: string | undefined;

/** Throws when this process is stopping (a signal, or the Vitest main process died). */
export function assertNotStopping(): void {
  // A worker whose parent died before the handlers were installed missed the 'disconnect' event.
  if (process.send !== undefined && !process.connected) stoppingReason ??= LOST_PARENT;
  if (stoppingReason !== undefined) {
    throw new Error(`Not injecting: this process is stopping (${stoppingReason}).`);
  }
}

/** Adds a fault to the set rolled back when this process is interrupted. */
export function trackActiveFault(fault: ActiveFault): void {
  active.add(fault);
  installProcessHandlers();
}

/**
 * Runs a whole injection (from requirements to `trackActiveFault`) with the stop handlers
 * installed. A stop that arrives meanwhile waits for the injection, so it also rolls back the
 * fault being applied. Throws at once when this process is already stopping.
 */
export async function whileInjecting<T>(inject: () => Promise<T>): Promise<T> {
  installProcessHandlers();
  assertNotStopping();
  const injection = inject();
  injecting.add(injection);
  try {
    return await injection;
  } finally {
    injecting.delete(injection);
  }
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
  // An injection that ends while others are awaited may have started after the stop: wait again
  // until none is left, within one deadline.
  const deadlineMs = Date.now() + INJECTION_SETTLE_MS;
  while (injecting.size > 0 && Date.now() < deadlineMs) {
    log('waiting for %d injection(s) in flight before rolling back: %s', injecting.size, reason);
    await settleWithin(Promise.allSettled([...injecting]), deadlineMs - Date.now());
  }
  // NOTE: an injection still running after the wait is left to journal recovery.
  if (injecting.size > 0)
    log('injections still in flight after %d ms; their journal entries stay', INJECTION_SETTLE_MS);
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
    void rollbackOnLostParent().finally(() => process.kill(process.pid, 'SIGTERM'));
  });
  deferExitOnLostChannel();
}

/** Rolls back once after the parent is lost; resolves after the rollback or its deadline. */
function rollbackOnLostParent(): Promise<void> {
  stoppingReason ??= LOST_PARENT;
  lostParentRollback ??= settleWithin(rollbackAllActive(LOST_PARENT), LOST_PARENT_ROLLBACK_MS);
  return lostParentRollback;
}

/** Resolves when `promise` settles or after `timeoutMs`, whichever comes first; never rejects. */
async function settleWithin(promise: Promise<unknown>, timeoutMs: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    promise.catch(() => undefined),
    new Promise((resolve) => (timer = setTimeout(resolve, Math.max(0, timeoutMs)))),
  ]);
  clearTimeout(timer);
}

/**
 * Vitest's fork worker exits at once when a message to its main process fails because that
 * process died (an `error` event with ERR_IPC_CHANNEL_CLOSED or EPIPE). Such a failure can come
 * before the `disconnect` event or while its rollback awaits, and the fault would stay in place.
 * The `error` listeners present now are wrapped so they run after the rollback instead.
 * NOTE: listeners added later are not wrapped, and Vitest's teardown can no longer remove the one
 * it added, so that listener stays until the worker exits.
 */
function deferExitOnLostChannel(): void {
  const emitter: EventEmitter = process;
  for (const listener of emitter.listeners('error') as ((error: unknown) => void)[]) {
    emitter.off('error', listener);
    emitter.on('error', (error: unknown) => {
      const code = (error as NodeJS.ErrnoException | undefined)?.code;
      if (code !== 'ERR_IPC_CHANNEL_CLOSED' && code !== 'EPIPE')
        return listener.call(process, error);
      log('message to the parent process failed (%s): rolling back before exiting', code);
      void rollbackOnLostParent().finally(() => listener.call(process, error));
    });
  }
}

function exitAfterSignal(signal: 'SIGINT' | 'SIGTERM'): void {
  // Vitest replaces process.exit inside workers, so the signal is raised again with its default
  // action, unless another listener keeps the process alive, in which case exit is called too.
  if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
  else process.exit(SIGNAL_EXIT_CODES[signal]);
}
