import type { z } from 'zod';
import type {
  DriverContext,
  JsonValue,
  Manifestation,
  MissingRequirement,
} from '../../faults/driver.ts';
import type { Fault, FaultType } from '../../faults/spec.ts';
import { DriverError } from '../../errors.ts';

/** The driver's name, as recorded in plans and the journal. */
export const DRIVER_NAME = 'process';

/** The context a rollback receives: the stack may be missing after a crash. */
export type RollbackContext = Omit<DriverContext, 'stack'> & { stack?: DriverContext['stack'] };

/**
 * One fault type of the process driver. `data` is the plan's JSON payload, validated by
 * `schema` whenever it comes back from the journal.
 */
export interface ProcessMechanism<T extends FaultType, D extends { [key: string]: JsonValue }> {
  type: T;
  /** The mechanism in plain words, recorded in the results. */
  description: string;
  schema: z.ZodType<D>;
  requirements(fault: Extract<Fault, { type: T }>, context: DriverContext): MissingRequirement[];
  plan(fault: Extract<Fault, { type: T }>, context: DriverContext): D | Promise<D>;
  apply(data: D, context: DriverContext): Promise<void>;
  verify(data: D, context: DriverContext): Promise<Manifestation>;
  rollback(data: D, context: RollbackContext): Promise<void>;
  inspect(data: D): Promise<'active' | 'inactive' | 'unknown'>;
}

/** Parses a plan's data with the mechanism's schema, naming the fault type on failure. */
export function parsePlanData<D>(schema: z.ZodType<D>, data: unknown, type: string): D {
  const parsed = schema.safeParse(data);
  if (parsed.success) return parsed.data;
  throw new DriverError(
    `The ${type} plan of the process driver is invalid: ${parsed.error.message}`,
    {
      driver: DRIVER_NAME,
      value: data,
      fix: 'Plans come from the journal; remove the broken entry with `vitest-chaos cleanup`.',
    },
  );
}

/** A `DriverError` of the process driver. */
export function processError(
  message: string,
  value: unknown,
  fix: string,
  cause?: unknown,
): DriverError {
  return new DriverError(message, { driver: DRIVER_NAME, value, fix, cause });
}
