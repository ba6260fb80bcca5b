import type {
  DriverContext,
  FaultDriver,
  FaultPlan,
  JsonValue,
  Manifestation,
  MissingRequirement,
} from '../../faults/driver.ts';
import { parseEdge, type Fault, type FaultType } from '../../faults/spec.ts';
import { createLogger } from '../../log.ts';
import type { StackInfo } from '../../stack-info.ts';
import {
  DRIVER_NAME,
  parsePlanData,
  processError,
  type ProcessMechanism,
  type RollbackContext,
} from './mechanism.ts';
import { availabilityMechanism } from './mechanisms/availability.ts';
import { cacheMechanism } from './mechanisms/cache.ts';
import { clockMechanism } from './mechanisms/clock.ts';
import { configMechanism } from './mechanisms/config.ts';
import { cpuMechanism } from './mechanisms/cpu.ts';
import { diskMechanism } from './mechanisms/disk.ts';
import { fdMechanism } from './mechanisms/fds.ts';
import { memoryMechanism } from './mechanisms/memory.ts';
import { pauseMechanism } from './mechanisms/pause.ts';

export { readStartTime, currentPid, isSameProcess, type ProcessRef } from './proc.ts';
export { FAKETIME_LIBRARY } from './requirements.ts';

const log = createLogger('process');

type AnyMechanism = ProcessMechanism<FaultType, { [key: string]: JsonValue }>;

const MECHANISMS = new Map<FaultType, AnyMechanism>(
  [
    availabilityMechanism,
    pauseMechanism,
    cpuMechanism,
    memoryMechanism,
    diskMechanism,
    clockMechanism,
    fdMechanism,
    configMechanism,
    cacheMechanism,
  ].map((mechanism) => [mechanism.type, mechanism as unknown as AnyMechanism]),
);

/** The fault types the process driver injects. */
export const PROCESS_FAULT_TYPES: readonly FaultType[] = [...MECHANISMS.keys()];

function mechanismFor(type: string): AnyMechanism {
  const mechanism = MECHANISMS.get(type as FaultType);
  if (!mechanism) {
    throw processError(
      `The process driver has no ${type} fault.`,
      type,
      `Use one of: ${PROCESS_FAULT_TYPES.join(', ')}.`,
    );
  }
  return mechanism;
}

function dataOf(plan: FaultPlan, mechanism: AnyMechanism): { [key: string]: JsonValue } {
  return parsePlanData(mechanism.schema, plan.data, plan.faultType);
}

/**
 * Injects faults into the local processes of a `process` stack (the embedded demo stack):
 * kills, pauses, CPU and memory pressure through cgroup v1, disk fill, clock skew through
 * libfaketime, file-descriptor exhaustion, config corruption and cache poisoning. Pids are read
 * fresh from the supervisor's pid files, and plans keep pid plus start time so a rollback after a
 * crash never signals a reused pid.
 */
export const processDriver: FaultDriver = {
  name: DRIVER_NAME,

  supports(fault: Fault, stack: StackInfo): boolean {
    if (stack.kind !== 'process' || !MECHANISMS.has(fault.type) || parseEdge(fault.target))
      return false;
    return stack.services.some((service) => service.name === fault.target);
  },

  async checkRequirements(fault: Fault, context: DriverContext): Promise<MissingRequirement[]> {
    const mechanism = mechanismFor(fault.type);
    return mechanism.requirements(fault as never, context);
  },

  async plan(fault: Fault, context: DriverContext): Promise<FaultPlan> {
    const mechanism = mechanismFor(fault.type);
    const data = await mechanism.plan(fault as never, context);
    return {
      driver: DRIVER_NAME,
      mechanism: mechanism.description,
      faultType: fault.type,
      target: fault.target,
      data,
    };
  },

  async apply(plan: FaultPlan, context: DriverContext): Promise<void> {
    const mechanism = mechanismFor(plan.faultType);
    log('injecting %s on %s (%s)', plan.faultType, plan.target, context.experimentKey);
    try {
      await mechanism.apply(dataOf(plan, mechanism), context);
    } catch (error) {
      log(
        'failed %s on %s (%s): %s',
        plan.faultType,
        plan.target,
        context.experimentKey,
        String(error),
      );
      throw error;
    }
    log('injected %s on %s (%s)', plan.faultType, plan.target, context.experimentKey);
  },

  async verify(plan: FaultPlan, context: DriverContext): Promise<Manifestation> {
    const mechanism = mechanismFor(plan.faultType);
    return mechanism.verify(dataOf(plan, mechanism), context);
  },

  async rollback(plan: FaultPlan, context: RollbackContext): Promise<void> {
    const mechanism = mechanismFor(plan.faultType);
    log('rolling back %s on %s (%s)', plan.faultType, plan.target, context.experimentKey);
    await mechanism.rollback(dataOf(plan, mechanism), context);
    log('rolled back %s on %s (%s)', plan.faultType, plan.target, context.experimentKey);
  },

  async inspect(plan: FaultPlan): Promise<'active' | 'inactive' | 'unknown'> {
    const mechanism = mechanismFor(plan.faultType);
    return mechanism.inspect(dataOf(plan, mechanism));
  },
};
