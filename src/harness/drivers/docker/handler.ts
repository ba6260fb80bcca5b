import type { z } from 'zod';
import type { Logger } from '../../log.ts';
import type {
  FaultPlan,
  JsonValue,
  Manifestation,
  MissingRequirement,
} from '../../faults/driver.ts';
import type { Fault, FaultOf, FaultType } from '../../faults/spec.ts';
import type { StackInfo } from '../../stack-info.ts';
import type { ContainerState } from './engine.ts';
import { relocateContainer, type ContainerRef } from './targets.ts';

/** Plan parameters of one fault handler: plain JSON, since the plan is journaled. */
export type HandlerParams = { [key: string]: JsonValue };

/** Input of a handler's `plan`. */
export interface PlanInput<F extends Fault = Fault> {
  fault: F;
  /** The chosen replicas, inspected, in the order of the plan's container list. */
  containers: ContainerState[];
  stack: StackInfo;
  socketPath: string;
  /** Unique per plan; it names chains, ballast files and the marker of exec'd processes. */
  key: string;
}

/** Input of a handler's `apply`, `verify`, `rollback` and `inspect`. */
export interface HandlerRun<P> {
  plan: FaultPlan;
  socketPath: string;
  key: string;
  refs: ContainerRef[];
  params: P;
  log: Logger;
}

/**
 * The Docker driver's code for one family of faults. Every method but `plan` works from the
 * plan alone, so a rollback after a crash needs no state of the process that applied it.
 */
export interface FaultHandler<P extends HandlerParams> {
  readonly types: readonly FaultType[];
  readonly paramsSchema: z.ZodType<P>;
  mechanism(fault: Fault): string;
  /** Lists what the host or the containers lack for this fault. */
  requirements(
    fault: Fault,
    containers: ContainerState[],
    socketPath: string,
  ): Promise<MissingRequirement[]>;
  plan(input: PlanInput): Promise<P>;
  apply(run: HandlerRun<P>): Promise<void>;
  verify(run: HandlerRun<P>): Promise<Manifestation>;
  rollback(run: HandlerRun<P>): Promise<void>;
  inspect?(run: HandlerRun<P>): Promise<'active' | 'inactive' | 'unknown'>;
}

/** Tells whether a parsed fault has the given type, for handlers that serve several. */
export function isFaultOf<T extends FaultType>(fault: Fault, type: T): fault is FaultOf<T> {
  return fault.type === type;
}

/**
 * Runs `step` on the current container of each reference of the plan, with its index; a
 * container that no longer exists is logged and skipped. Returns the number of containers found.
 */
export async function forEachContainer<P>(
  run: HandlerRun<P>,
  step: (state: ContainerState, index: number) => Promise<void>,
): Promise<number> {
  let found = 0;
  for (const [index, ref] of run.refs.entries()) {
    const state = await relocateContainer(run.socketPath, ref);
    if (!state) {
      run.log(
        'container %s (%s) of plan %s is gone, skipped',
        ref.name,
        ref.id.slice(0, 12),
        run.key,
      );
      continue;
    }
    found += 1;
    await step(state, index);
  }
  return found;
}

/** Short display name of a container for results and messages. */
export function describeContainer(state: Pick<ContainerState, 'Id' | 'Name'>): string {
  return `${state.Name} (${state.Id.slice(0, 12)})`;
}

/** Resolves after `ms` milliseconds. */
export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** The operations of one plan, with its parameters parsed. */
export interface BoundFault {
  apply(): Promise<void>;
  verify(): Promise<Manifestation>;
  rollback(): Promise<void>;
  inspect(): Promise<'active' | 'inactive' | 'unknown'>;
}

/** A handler with its parameter type hidden, so the driver can keep handlers in one list. */
export interface AnyFaultHandler {
  readonly types: readonly FaultType[];
  mechanism(fault: Fault): string;
  requirements(
    fault: Fault,
    containers: ContainerState[],
    socketPath: string,
  ): Promise<MissingRequirement[]>;
  plan(input: PlanInput): Promise<HandlerParams>;
  /** Parses a plan's parameters; returns the zod error message when they do not fit. */
  bind(run: Omit<HandlerRun<unknown>, 'params'>, params: unknown): BoundFault | string;
}

/** Hides a handler's parameter type behind a parse of the plan's parameters. */
export function eraseHandler<P extends HandlerParams>(handler: FaultHandler<P>): AnyFaultHandler {
  return {
    types: handler.types,
    mechanism: (fault) => handler.mechanism(fault),
    requirements: (fault, containers, socketPath) =>
      handler.requirements(fault, containers, socketPath),
    plan: (input) => handler.plan(input),
    bind(base, params) {
      const parsed = handler.paramsSchema.safeParse(params);
      if (!parsed.success) return parsed.error.message;
      const run: HandlerRun<P> = { ...base, params: parsed.data };
      return {
        apply: () => handler.apply(run),
        verify: () => handler.verify(run),
        rollback: () => handler.rollback(run),
        inspect: () => (handler.inspect ? handler.inspect(run) : Promise.resolve('unknown')),
      };
    },
  };
}
