import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import type { StackInfo } from '../../stack-info.ts';
import { findService } from '../../stack-info.ts';
import { DriverError } from '../../errors.ts';

/** A process identified by pid and start time, so a reused pid is never mistaken for it. */
export interface ProcessRef {
  pid: number;
  /** Start time in clock ticks since boot, field 22 of /proc/<pid>/stat. */
  startTime: number;
}

function statFields(pid: number): string[] | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name (field 2) may contain spaces, so split after its closing parenthesis.
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  } catch {
    return undefined;
  }
}

/** Reads the start time of a process; `undefined` when it does not exist. */
export function readStartTime(pid: number): number | undefined {
  const fields = statFields(pid);
  // After the command name, field 3 (state) is index 0, so field 22 is index 19.
  return fields ? Number(fields[19]) : undefined;
}

/** Reads the state letter of a process (R, S, T for stopped...); `undefined` when it is gone. */
export function readState(pid: number): string | undefined {
  return statFields(pid)?.[0];
}

/** Whether the process still runs and is the same one (same start time). */
export function isSameProcess(ref: ProcessRef): boolean {
  return readStartTime(ref.pid) === ref.startTime;
}

/** Sends a signal only when the pid still names the same process; returns whether it did. */
export function signalProcess(ref: ProcessRef, signal: NodeJS.Signals): boolean {
  if (!isSameProcess(ref)) return false;
  try {
    process.kill(ref.pid, signal);
    return true;
  } catch {
    return false;
  }
}

/** Takes a reference to a running process; `undefined` when it is not running. */
export function refOf(pid: number): ProcessRef | undefined {
  const startTime = readStartTime(pid);
  return startTime === undefined ? undefined : { pid, startTime };
}

/**
 * Reads the current pid of a stack service: its pid file (written by the supervisor on every
 * restart), else the pid recorded in the stack info. `undefined` while the service is down.
 */
export function currentPid(stack: StackInfo, service: string): number | undefined {
  if (stack.stateDir) {
    try {
      const pid = Number(readFileSync(join(stack.stateDir, 'pids', `${service}.pid`), 'utf8'));
      return Number.isInteger(pid) && pid > 0 ? pid : undefined;
    } catch {
      return undefined;
    }
  }
  return findService(stack, service).pid;
}

/** The current process of a service, or a `DriverError` that says the service is not running. */
export function requireProcess(stack: StackInfo, service: string, driver: string): ProcessRef {
  const pid = currentPid(stack, service);
  const ref = pid === undefined ? undefined : refOf(pid);
  if (!ref) {
    throw new DriverError(`Service "${service}" has no running process.`, {
      driver,
      value: pid ?? null,
      fix: 'Wait until the supervisor has restarted it, or check its log in <stateDir>/logs.',
    });
  }
  return ref;
}

/** Reads the cgroup v1 path of a process for one controller, for example `/` or `/a/b`. */
export function readCgroupPath(pid: number, controller: string): string | undefined {
  try {
    for (const line of readFileSync(`/proc/${pid}/cgroup`, 'utf8').split('\n')) {
      const [, controllers, path] = line.split(':');
      if (controllers?.split(',').includes(controller)) return path;
    }
  } catch {
    return undefined;
  }
  return undefined;
}

/** Lists the pids whose command line contains a marker string. */
export function findProcessesByMarker(marker: string): ProcessRef[] {
  const found: ProcessRef[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (!cmdline.includes(marker)) continue;
      const ref = refOf(Number(entry));
      if (ref && ref.pid !== process.pid) found.push(ref);
    } catch {
      // The process exited while the list was read.
    }
  }
  return found;
}

/** Reads one variable of a process's environment; `undefined` when absent or unreadable. */
export function readEnvironment(pid: number, name: string): string | undefined {
  try {
    const prefix = `${name}=`;
    const entry = readFileSync(`/proc/${pid}/environ`, 'utf8')
      .split('\0')
      .find((item) => item.startsWith(prefix));
    return entry?.slice(prefix.length);
  } catch {
    return undefined;
  }
}

/** Waits until a condition holds or the time runs out; returns whether it held. */
export async function waitFor(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
  stepMs = 50,
): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return true;
    if (Date.now() >= deadline) return false;
    await new Promise((resolve) => setTimeout(resolve, stepMs));
  }
}
