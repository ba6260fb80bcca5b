import type { z } from 'zod';
import type { FaultPlan } from '../../faults/driver.ts';
import type { RuleListing } from '../../fault-layer/client.ts';
import { NetworkFaultError } from '../toxiproxy/errors.ts';

/** Returns the fault-layer rule id of an experiment's fault: `chaos.<experimentKey>.<type>`. */
export function faultRuleId(experimentKey: string, faultType: string): string {
  return `chaos.${experimentKey.replace(/[^A-Za-z0-9._:-]/g, '_')}.${faultType}`;
}

/** Parses a journaled plan's data; throws a `NetworkFaultError` naming the invalid fields. */
export function parsePlanData<Schema extends z.ZodType>(
  schema: Schema,
  plan: FaultPlan,
  driver: string,
): z.output<Schema> {
  const parsed = schema.safeParse(plan.data);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  throw new NetworkFaultError('plan-invalid', `Invalid ${driver} plan: ${issues.join('; ')}.`, {
    driver,
    value: plan.data,
    fix: 'The journal entry was not written by this driver version; delete the rule with the admin API.',
  });
}

/** Returns the names whose listing contains the rule. */
export async function readRules(
  names: string[],
  ruleId: string,
  read: (name: string) => Promise<RuleListing>,
): Promise<Set<string>> {
  const found = new Set<string>();
  for (const name of names) {
    const listing = await read(name);
    if (listing.rules.some((rule) => rule.ruleId === ruleId)) found.add(name);
  }
  return found;
}

/**
 * Runs every step even when one fails, then throws one `NetworkFaultError` that lists each
 * failure, so a rollback removes all it can.
 */
export async function attemptAll(
  steps: { what: string; step: () => Promise<unknown> }[],
  options: { driver: string; summary: string },
): Promise<void> {
  const failures: string[] = [];
  let firstError: unknown;
  for (const { what, step } of steps) {
    try {
      await step();
    } catch (error) {
      failures.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
      firstError ??= error;
    }
  }
  if (failures.length === 0) return;
  throw new NetworkFaultError(
    'fault-layer-request-failed',
    `${options.summary} failed: ${failures.join('; ')}.`,
    {
      driver: options.driver,
      cause: firstError,
      fix: 'The plan is unchanged and still names every rule: retry the rollback (vitest-chaos cleanup) once the fault layer is reachable. A restarted fault layer starts with no rules.',
    },
  );
}
