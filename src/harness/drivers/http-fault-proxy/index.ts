import { createHash } from 'node:crypto';
import { z } from 'zod';
import type {
  DriverContext,
  FaultDriver,
  FaultPlan,
  Manifestation,
  MissingRequirement,
} from '../../faults/driver.ts';
import type { Fault } from '../../faults/spec.ts';
import { FaultLayerClient } from '../../fault-layer/client.ts';
import { createLogger } from '../../log.ts';
import type { StackInfo } from '../../stack-info.ts';
import { NetworkFaultError } from '../toxiproxy/errors.ts';
import { resolveEdges } from '../toxiproxy/targets.ts';
import { attemptAll, faultRuleId, parsePlanData, readRules } from './shared.ts';

export { faultRuleId } from './shared.ts';

const log = createLogger('http-fault-proxy');
const DRIVER_NAME = 'http-fault-proxy';

/** The `data` of an HTTP fault proxy plan: all that rollback needs after a crash. */
export const httpFaultPlanDataSchema = z.object({
  adminUrl: z.string(),
  ruleId: z.string(),
  /** Fault-layer routes (`<caller>__<callee>`) the rule is set on. */
  routes: z.array(z.string()).min(1),
  rule: z.object({
    status: z.number().int().optional(),
    probability: z.number().min(0).max(1),
    delayMs: z.number().min(0),
    seed: z.number().int(),
  }),
});
export type HttpFaultPlanData = z.infer<typeof httpFaultPlanDataSchema>;

/** Returns the fault's seed, or one derived from the experiment key so reruns replay. */
function seedOf(fault: Fault, experimentKey: string): number {
  if (fault.seed !== undefined) return fault.seed;
  return createHash('sha1').update(experimentKey).digest().readUInt32BE(0);
}

function ruleOf(fault: Fault, seed: number): HttpFaultPlanData['rule'] {
  if (fault.type === 'cascade_retry') {
    return { status: fault.status, probability: fault.probability, delayMs: 0, seed };
  }
  if (fault.type === 'http_slow')
    return { probability: fault.probability, delayMs: fault.delay, seed };
  throw new NetworkFaultError(
    'plan-invalid',
    `The HTTP fault proxy injects cascade_retry and http_slow, not ${fault.type}.`,
    {
      driver: DRIVER_NAME,
      value: fault.type,
      fix: 'Pick another driver for this fault.',
    },
  );
}

function describeRule(rule: HttpFaultPlanData['rule'], routes: string[]): string {
  const share = `${rule.probability * 100}% of requests`;
  const effect = rule.status !== undefined ? `status ${rule.status}` : `${rule.delayMs} ms delay`;
  return `HTTP fault proxy rule: ${effect} on ${share} on route(s) ${routes.join(', ')}, seeded PRNG (seed ${rule.seed})`;
}

function routesOf(fault: Fault, stack: StackInfo): string[] {
  return resolveEdges(stack, fault.target).map((edge) => {
    if (edge.httpProxyRoute) return edge.httpProxyRoute;
    throw new NetworkFaultError(
      'target-invalid',
      `Edge ${edge.caller}->${edge.callee} has no HTTP fault proxy route.`,
      {
        driver: DRIVER_NAME,
        value: edge,
        fix: 'Route the edge through the fault layer and set httpProxyRoute in the stack description.',
      },
    );
  });
}

async function checkRequirements(
  fault: Fault,
  context: DriverContext,
): Promise<MissingRequirement[]> {
  const adminUrl = context.stack.faultLayerUrl;
  if (!adminUrl) {
    return [
      {
        what: 'fault layer',
        reason: `the ${fault.type} fault needs the HTTP fault proxy, and the stack has no faultLayerUrl`,
        fix: 'start the fault layer (src/harness/fault-layer/main.ts) and set faultLayerUrl, or use the embedded stack',
      },
    ];
  }
  const client = new FaultLayerClient(adminUrl, { signal: context.signal });
  const missing: MissingRequirement[] = [];
  for (const route of routesOf(fault, context.stack)) {
    await client.getHttpRoute(route).catch((error: unknown) =>
      missing.push({
        what: `fault layer route ${route}`,
        reason: error instanceof Error ? error.message : String(error),
        fix: 'add the route to the fault layer config (the embedded stack adds one per edge)',
      }),
    );
  }
  return missing;
}

async function plan(fault: Fault, context: DriverContext): Promise<FaultPlan> {
  const adminUrl = context.stack.faultLayerUrl;
  if (!adminUrl) {
    throw new NetworkFaultError('target-invalid', 'The stack has no faultLayerUrl.', {
      driver: DRIVER_NAME,
      fix: 'Run checkRequirements first, or describe the fault layer in the stack.',
    });
  }
  const routes = routesOf(fault, context.stack);
  const rule = ruleOf(fault, seedOf(fault, context.experimentKey));
  const data: HttpFaultPlanData = {
    adminUrl,
    ruleId: faultRuleId(context.experimentKey, fault.type),
    routes,
    rule,
  };
  return {
    driver: DRIVER_NAME,
    mechanism: describeRule(rule, routes),
    faultType: fault.type,
    target: fault.target,
    data,
  };
}

async function apply(faultPlan: FaultPlan, context: DriverContext): Promise<void> {
  const data = parsePlanData(httpFaultPlanDataSchema, faultPlan, DRIVER_NAME);
  const client = new FaultLayerClient(data.adminUrl, { signal: context.signal });
  log('injecting %s on %o, rule %s', faultPlan.faultType, data.routes, data.ruleId);
  for (const route of data.routes)
    await client.putHttpRule(route, { ruleId: data.ruleId, ...data.rule });
  log('injected %s, rule %s', faultPlan.faultType, data.ruleId);
}

// NOTE: verify does not send a real request through the route: each request draws from the
// rule's seeded generator, so a check request would shift the replayed sequence.
async function verify(faultPlan: FaultPlan, context: DriverContext): Promise<Manifestation> {
  const data = parsePlanData(httpFaultPlanDataSchema, faultPlan, DRIVER_NAME);
  const client = new FaultLayerClient(data.adminUrl, { signal: context.signal });
  const found = await readRules(data.routes, data.ruleId, (route) => client.getHttpRoute(route));
  const missing = data.routes.filter((route) => !found.has(route));
  return {
    manifested: missing.length === 0,
    detail:
      missing.length === 0
        ? `rule ${data.ruleId} set on ${data.routes.join(', ')}`
        : `rule ${data.ruleId} missing on ${missing.join(', ')}`,
  };
}

async function rollback(
  faultPlan: FaultPlan,
  context: Omit<DriverContext, 'stack'>,
): Promise<void> {
  const data = parsePlanData(httpFaultPlanDataSchema, faultPlan, DRIVER_NAME);
  const client = new FaultLayerClient(data.adminUrl, { signal: context.signal });
  log('rolling back %s, rule %s', faultPlan.faultType, data.ruleId);
  await attemptAll(
    data.routes.map((route) => ({
      what: `delete rule ${data.ruleId} on route ${route}`,
      step: () => client.deleteHttpRule(route, data.ruleId),
    })),
    {
      driver: DRIVER_NAME,
      summary: `Rollback of ${faultPlan.faultType} on ${faultPlan.target} at ${data.adminUrl}`,
    },
  );
  log('rolled back %s, rule %s', faultPlan.faultType, data.ruleId);
}

async function inspect(faultPlan: FaultPlan): Promise<'active' | 'inactive' | 'unknown'> {
  const data = parsePlanData(httpFaultPlanDataSchema, faultPlan, DRIVER_NAME);
  const client = new FaultLayerClient(data.adminUrl);
  try {
    const found = await readRules(data.routes, data.ruleId, (route) => client.getHttpRoute(route));
    return found.size > 0 ? 'active' : 'inactive';
  } catch {
    return 'unknown';
  }
}

/**
 * Injects L7 faults on edges through the fault layer's HTTP proxy: `cascade_retry` (a status on
 * a share of requests) and `http_slow` (a delay on a share of requests), with a seeded PRNG.
 */
export const httpFaultProxyDriver: FaultDriver = {
  name: DRIVER_NAME,
  supports(fault: Fault, stack: StackInfo): boolean {
    if (fault.type !== 'cascade_retry' && fault.type !== 'http_slow') return false;
    if (fault.driver !== undefined && fault.driver !== DRIVER_NAME) return false;
    if (!stack.faultLayerUrl) return false;
    try {
      return routesOf(fault, stack).length > 0;
    } catch {
      return false;
    }
  },
  checkRequirements,
  plan,
  apply,
  verify,
  rollback,
  inspect,
};
