import type { StackInfo } from '../stack-info.ts';
import type { Fault } from './spec.ts';

/** A JSON value, the only thing a fault plan may contain, since it is written to the journal. */
export type JsonValue =
  string | number | boolean | null | JsonValue[] | { [key: string]: JsonValue };

/**
 * The steps a driver takes to inject one fault, with everything needed to undo it after a crash.
 * It is written to the journal before the fault is applied, so it must be self-contained: the
 * Toxiproxy URL and toxic names, the pid and its start time, the cgroup path, the chain name.
 */
export interface FaultPlan {
  /** Name of the driver that made the plan; the journal uses it to find the driver again. */
  driver: string;
  /** The mechanism in plain words, recorded in the results (for example "toxiproxy latency toxic"). */
  mechanism: string;
  faultType: Fault['type'];
  target: string;
  data: { [key: string]: JsonValue };
}

/** A tool or privilege a fault needs, and how to get it. */
export interface MissingRequirement {
  /** The missing tool or privilege, for example `root`, `stress-ng` or `toxiproxy-server`. */
  what: string;
  /** The reason the fault needs it. */
  reason: string;
  /** The command that installs it or the way to get it, for example `apt-get install -y stress-ng`. */
  fix: string;
}

/** The result of checking that an applied fault took effect. */
export interface Manifestation {
  manifested: boolean;
  /** The check and its measured values, for the results. */
  detail: string;
}

/** The context every driver call receives. */
export interface DriverContext {
  stack: StackInfo;
  /** Unique per experiment; drivers put it into toxic names, chain names and cgroup names. */
  experimentKey: string;
  /** Aborts a slow driver call when the experiment is cancelled. */
  signal?: AbortSignal;
}

/**
 * A mechanism that injects faults on one kind of target. A driver is stateless between calls:
 * everything `rollback` needs is in the plan, so the journal can undo a fault after a crash.
 */
export interface FaultDriver {
  readonly name: string;
  /** Whether this driver can inject the fault on this stack. */
  supports(fault: Fault, stack: StackInfo): boolean;
  /** Lists what is missing on this machine for the fault (root, a tool); empty when ready. */
  checkRequirements(fault: Fault, context: DriverContext): Promise<MissingRequirement[]>;
  /** Decides what to do, with no side effects. */
  plan(fault: Fault, context: DriverContext): Promise<FaultPlan>;
  /** Applies the plan. */
  apply(plan: FaultPlan, context: DriverContext): Promise<void>;
  /** Checks at the driver level that the applied fault took effect. */
  verify(plan: FaultPlan, context: DriverContext): Promise<Manifestation>;
  /** Removes the fault. Idempotent, and works from the plan alone after a crash. */
  rollback(
    plan: FaultPlan,
    context: Omit<DriverContext, 'stack'> & { stack?: StackInfo },
  ): Promise<void>;
  /** Tells whether the fault is still in place, where the driver can tell. */
  inspect?(plan: FaultPlan): Promise<'active' | 'inactive' | 'unknown'>;
}
