import { existsSync, readFileSync } from 'node:fs';
import { rm, writeFile } from 'node:fs/promises';
import type { FaultDriver, FaultPlan } from '../../../src/harness/faults/driver.ts';
import { registerDriver } from '../../../src/harness/faults/registry.ts';
import { findService } from '../../../src/harness/stack-info.ts';

/** Returns the state letter of a process from /proc (`T` when stopped), or undefined when gone. */
export function processState(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[0];
  } catch {
    return undefined;
  }
}

function pidOf(plan: FaultPlan): number {
  const pid = plan.data.pid;
  if (typeof pid !== 'number') throw new Error(`plan has no pid: ${JSON.stringify(plan.data)}`);
  return pid;
}

/** Pauses a local process with SIGSTOP and resumes it with SIGCONT: a real, visible fault. */
export const sigstopDriver: FaultDriver = {
  name: 'test-sigstop',
  supports: (fault, stack) =>
    fault.type === 'process_pause' &&
    stack.services.some((service) => service.name === fault.target && service.pid !== undefined),
  checkRequirements: async () => [],
  plan: async (fault, context) => {
    const pid = findService(context.stack, fault.target).pid;
    if (pid === undefined) throw new Error(`service ${fault.target} has no pid`);
    return {
      driver: 'test-sigstop',
      mechanism: 'SIGSTOP',
      faultType: fault.type,
      target: fault.target,
      data: { pid },
    };
  },
  apply: async (plan) => {
    process.kill(pidOf(plan), 'SIGSTOP');
  },
  verify: async (plan) => {
    const state = processState(pidOf(plan));
    return { manifested: state === 'T', detail: `process ${pidOf(plan)} state ${state ?? 'gone'}` };
  },
  rollback: async (plan) => {
    try {
      process.kill(pidOf(plan), 'SIGCONT');
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  },
  inspect: async (plan) => {
    const state = processState(pidOf(plan));
    if (state === undefined) return 'inactive';
    return state === 'T' ? 'active' : 'inactive';
  },
};

/** How long `slowApplySigstopDriver` keeps applying after the victim is paused. */
export const SLOW_APPLY_MS = 3_000;

/**
 * Like `sigstopDriver`, but `apply` returns only `SLOW_APPLY_MS` after the SIGSTOP, as a driver
 * that verifies its fault would: a stop during that time finds the fault applied but not yet
 * returned. Used only when a fault names it.
 */
export const slowApplySigstopDriver: FaultDriver = {
  ...sigstopDriver,
  name: 'test-sigstop-slow-apply',
  supports: () => false,
  plan: async (fault, context) => ({
    ...(await sigstopDriver.plan(fault, context)),
    driver: 'test-sigstop-slow-apply',
  }),
  apply: async (plan) => {
    process.kill(pidOf(plan), 'SIGSTOP');
    await new Promise((resolve) => setTimeout(resolve, SLOW_APPLY_MS));
  },
};

function pathOf(plan: FaultPlan): string {
  const path = plan.data.path;
  if (typeof path !== 'string') throw new Error(`plan has no path: ${JSON.stringify(plan.data)}`);
  return path;
}

/** Writes a marker file as the fault and deletes it on rollback; `path` comes from the fault. */
export const markerFileDriver: FaultDriver = {
  name: 'test-marker-file',
  supports: (fault) => fault.type === 'config_corruption' && fault.path !== undefined,
  checkRequirements: async () => [],
  plan: async (fault) => {
    if (fault.type !== 'config_corruption' || fault.path === undefined)
      throw new Error('needs a path');
    return {
      driver: 'test-marker-file',
      mechanism: 'marker file',
      faultType: fault.type,
      target: fault.target,
      data: { path: fault.path },
    };
  },
  apply: async (plan) => {
    await writeFile(pathOf(plan), 'fault\n');
  },
  verify: async (plan) => ({
    manifested: existsSync(pathOf(plan)),
    detail: `marker ${pathOf(plan)}`,
  }),
  rollback: async (plan) => {
    await rm(pathOf(plan), { force: true });
  },
  inspect: async (plan) => (existsSync(pathOf(plan)) ? 'active' : 'inactive'),
};

registerDriver(sigstopDriver, { module: import.meta.url });
registerDriver(markerFileDriver, { module: import.meta.url });
registerDriver(slowApplySigstopDriver, { module: import.meta.url });
