import { randomBytes } from 'node:crypto';
import { z } from 'zod';
import type {
  DriverContext,
  FaultDriver,
  FaultPlan,
  Manifestation,
  MissingRequirement,
} from '../../faults/driver.ts';
import { parseEdge, type Fault } from '../../faults/spec.ts';
import { createLogger } from '../../log.ts';
import type { StackInfo } from '../../stack-info.ts';
import { defaultSocketPath, inspectContainer, type ContainerState } from './engine.ts';
import { DockerFaultError, isDockerFaultError } from './errors.ts';
import { availabilityHandler } from './faults/availability.ts';
import { clockHandler } from './faults/clock.ts';
import { diskHandler } from './faults/disk.ts';
import { downHandler, pauseHandler } from './faults/lifecycle.ts';
import { memoryHandler } from './faults/memory.ts';
import { networkHandler } from './faults/network.ts';
import { cpuHandler } from './faults/stress.ts';
import { eraseHandler, type AnyFaultHandler, type BoundFault } from './handler.ts';
import {
  chooseReplicas,
  containerRefSchema,
  findTargetContainers,
  seedFromText,
  type ContainerRef,
} from './targets.ts';

const log = createLogger('docker');

/** Name the Docker driver registers under and writes into its plans. */
export const DOCKER_DRIVER_NAME = 'docker';

const HANDLERS: readonly AnyFaultHandler[] = [
  eraseHandler(availabilityHandler),
  eraseHandler(downHandler),
  eraseHandler(pauseHandler),
  eraseHandler(cpuHandler),
  eraseHandler(memoryHandler),
  eraseHandler(diskHandler),
  eraseHandler(clockHandler),
  eraseHandler(networkHandler),
];

/** Fault types the Docker driver injects. */
export const DOCKER_FAULT_TYPES = HANDLERS.flatMap((handler) => handler.types);

function handlerFor(type: string): AnyFaultHandler | undefined {
  return HANDLERS.find((handler) => handler.types.some((known) => known === type));
}

const planDataSchema = z.object({
  socketPath: z.string(),
  key: z.string(),
  containers: z.array(containerRefSchema),
  params: z.record(z.string(), z.unknown()),
});

/** Options of {@link createDockerDriver}. */
export interface DockerDriverOptions {
  /** Unix socket of the engine; default `DOCKER_HOST` (when `unix://`) or /var/run/docker.sock. */
  socketPath?: string;
}

interface ParsedPlan {
  fault: BoundFault;
  key: string;
}

function parsePlan(plan: FaultPlan): ParsedPlan {
  const handler = handlerFor(plan.faultType);
  const data = planDataSchema.safeParse(plan.data);
  let problem: string;
  if (!handler) problem = `fault type ${plan.faultType} is not a Docker fault`;
  else if (!data.success) problem = data.error.message;
  else {
    const { socketPath, key, containers, params } = data.data;
    const bound = handler.bind({ plan, socketPath, key, refs: containers, log }, params);
    if (typeof bound !== 'string') return { fault: bound, key };
    problem = bound;
  }
  throw new DockerFaultError(
    'plan-invalid',
    `The plan for ${plan.faultType} on ${plan.target} is not a Docker driver plan: ${problem}`,
    {
      value: plan,
      fix: 'Roll it back with the driver named in the plan.',
    },
  );
}

/** Makes a key unique per plan, which names chains and ballast files and marks exec'd processes. */
function planKey(fault: Fault, experimentKey: string): string {
  const hash = seedFromText(`${experimentKey}|${fault.type}|${fault.target}`).toString(36);
  return `vc${hash}${randomBytes(3).toString('hex')}`;
}

async function chosenContainers(
  fault: Fault,
  context: DriverContext,
  socketPath: string,
): Promise<ContainerState[]> {
  const candidates = await findTargetContainers(socketPath, fault.target, context.stack);
  const seed = fault.seed ?? seedFromText(`${context.experimentKey}|${fault.target}`);
  const states: ContainerState[] = [];
  for (const ref of chooseReplicas(candidates, fault.instances, seed)) {
    const state = await inspectContainer(socketPath, ref.id);
    if (state) states.push(state);
  }
  return states;
}

function toRef(state: ContainerState, candidates: Map<string, ContainerRef>): ContainerRef {
  return (
    candidates.get(state.Id) ?? {
      id: state.Id,
      name: state.Name,
      service: null,
      project: null,
      number: null,
    }
  );
}

/** Turns a failure the user can fix on the engine or the container into a missing requirement. */
function asMissing(error: unknown): MissingRequirement | undefined {
  if (
    isDockerFaultError(error, 'engine-unreachable') ||
    isDockerFaultError(error, 'socket-permission')
  ) {
    return {
      what: 'Docker engine',
      reason: error.message,
      fix: error.fix ?? 'sudo scripts/docker-setup.sh',
    };
  }
  if (isDockerFaultError(error, 'container-unsuitable')) {
    return { what: 'container setup', reason: error.message, fix: error.fix ?? '' };
  }
  return undefined;
}

/** Creates the Docker driver; see {@link dockerDriver} for the default one. */
export function createDockerDriver(options: DockerDriverOptions = {}): FaultDriver {
  const socketPath = options.socketPath ?? defaultSocketPath();

  async function plan(fault: Fault, context: DriverContext): Promise<FaultPlan> {
    const handler = handlerFor(fault.type);
    if (!handler)
      throw new DockerFaultError(
        'plan-invalid',
        `The Docker driver does not inject ${fault.type} faults.`,
        { value: fault.type, fix: `It injects: ${DOCKER_FAULT_TYPES.join(', ')}.` },
      );
    const candidates = await findTargetContainers(socketPath, fault.target, context.stack);
    const byId = new Map(candidates.map(({ running: _running, ...ref }) => [ref.id, ref]));
    const containers = await chosenContainers(fault, context, socketPath);
    const key = planKey(fault, context.experimentKey);
    const params = await handler.plan({ fault, containers, stack: context.stack, socketPath, key });
    const refs = containers.map((state) => toRef(state, byId));
    log(
      'planned %s on %s: %s (key %s)',
      fault.type,
      fault.target,
      refs.map((ref) => ref.name).join(', '),
      key,
    );
    return {
      driver: DOCKER_DRIVER_NAME,
      mechanism: handler.mechanism(fault),
      faultType: fault.type,
      target: fault.target,
      data: { socketPath, key, containers: refs, params },
    };
  }

  return {
    name: DOCKER_DRIVER_NAME,
    supports: (fault, stack) => supportsFault(fault, stack),
    async checkRequirements(fault, context) {
      try {
        const containers = await chosenContainers(fault, context, socketPath);
        return (await handlerFor(fault.type)?.requirements(fault, containers, socketPath)) ?? [];
      } catch (error) {
        const missing = asMissing(error);
        if (missing) return [missing];
        throw error;
      }
    },
    plan,
    async apply(faultPlan) {
      const { fault, key } = parsePlan(faultPlan);
      log('injecting %s on %s (key %s)', faultPlan.faultType, faultPlan.target, key);
      try {
        await fault.apply();
      } catch (error) {
        log(
          'injecting %s on %s failed (key %s): %O',
          faultPlan.faultType,
          faultPlan.target,
          key,
          error,
        );
        throw error;
      }
      log('injected %s on %s (key %s)', faultPlan.faultType, faultPlan.target, key);
    },
    verify: (faultPlan): Promise<Manifestation> => parsePlan(faultPlan).fault.verify(),
    async rollback(faultPlan) {
      const { fault, key } = parsePlan(faultPlan);
      log('rolling back %s on %s (key %s)', faultPlan.faultType, faultPlan.target, key);
      await fault.rollback();
      log('rolled back %s on %s (key %s)', faultPlan.faultType, faultPlan.target, key);
    },
    inspect: (faultPlan) => parsePlan(faultPlan).fault.inspect(),
  };
}

/**
 * Tells whether the Docker driver injects this fault on this stack: a Docker stack, a service
 * target (not an edge), and not the variants other drivers own (connection-level loss,
 * partitions between two named services).
 */
export function supportsFault(fault: Fault, stack: StackInfo): boolean {
  if (stack.kind !== 'docker' || !handlerFor(fault.type) || parseEdge(fault.target)) return false;
  if (fault.type === 'network_loss' && fault.mechanism === 'connection') return false;
  if (fault.type === 'network_partition' && fault.between !== undefined) return false;
  return true;
}
