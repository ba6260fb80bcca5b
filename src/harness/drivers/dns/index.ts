import { createSocket } from 'node:dgram';
import dnsPacket from 'dns-packet';
import { z } from 'zod';
import type {
  DriverContext,
  FaultDriver,
  FaultPlan,
  Manifestation,
  MissingRequirement,
} from '../../faults/driver.ts';
import { parseEdge, type Fault } from '../../faults/spec.ts';
import { FaultLayerClient } from '../../fault-layer/client.ts';
import { createLogger } from '../../log.ts';
import type { StackInfo } from '../../stack-info.ts';
import { attemptAll, faultRuleId, parsePlanData, readRules } from '../http-fault-proxy/shared.ts';
import { NetworkFaultError } from '../toxiproxy/errors.ts';

const log = createLogger('dns');
const DRIVER_NAME = 'dns';
/** Maximum delay verify measures with a real query, in milliseconds; longer ones are only listed. */
const MAX_PROBED_DELAY_MS = 1_000;

/** The `data` of a DNS delay plan: all that rollback needs after a crash. */
export const dnsPlanDataSchema = z.object({
  adminUrl: z.string(),
  ruleId: z.string(),
  /** Fault-layer DNS forwarder, named after the service whose lookups it carries. */
  forwarder: z.string(),
  delayMs: z.number().min(0),
  /** Queried names the delay applies to; null for every name. */
  names: z.array(z.string()).nullable(),
});
export type DnsPlanData = z.infer<typeof dnsPlanDataSchema>;

/**
 * Returns the forwarder and names of a target: a service target delays every lookup of that
 * service, an edge `caller->callee` only the caller's lookups of the callee.
 */
function scopeOf(target: string, stack: StackInfo): { forwarder: string; names: string[] | null } {
  const edge = parseEdge(target);
  const forwarder = edge ? edge.caller : target;
  if (!stack.services.some((service) => service.name === forwarder)) {
    const known = stack.services.map((service) => service.name).join(', ');
    throw new NetworkFaultError(
      'target-invalid',
      `Service "${forwarder}" of the dns_latency target "${target}" is not in the stack.`,
      {
        driver: DRIVER_NAME,
        value: target,
        fix: `Name one of: ${known}.`,
      },
    );
  }
  return { forwarder, names: edge ? [edge.callee] : null };
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
        reason:
          'dns_latency delays answers in the fault layer DNS forwarder, and the stack has no faultLayerUrl',
        fix: 'start the fault layer (src/harness/fault-layer/main.ts) and set faultLayerUrl, or use the embedded stack',
      },
    ];
  }
  const { forwarder } = scopeOf(fault.target, context.stack);
  try {
    await new FaultLayerClient(adminUrl, { signal: context.signal }).getDnsForwarder(forwarder);
    return [];
  } catch (error) {
    return [
      {
        what: `fault layer DNS forwarder ${forwarder}`,
        reason: error instanceof Error ? error.message : String(error),
        fix: 'add the forwarder to the fault layer config and resolve the service through it',
      },
    ];
  }
}

async function plan(fault: Fault, context: DriverContext): Promise<FaultPlan> {
  const adminUrl = context.stack.faultLayerUrl;
  if (fault.type !== 'dns_latency' || !adminUrl) {
    throw new NetworkFaultError(
      'plan-invalid',
      `The dns driver injects dns_latency on a stack with a fault layer; got ${fault.type}.`,
      {
        driver: DRIVER_NAME,
        value: fault.type,
        fix: 'Run checkRequirements first, or pick another driver.',
      },
    );
  }
  const { forwarder, names } = scopeOf(fault.target, context.stack);
  const data: DnsPlanData = {
    adminUrl,
    ruleId: faultRuleId(context.experimentKey, fault.type),
    forwarder,
    delayMs: fault.delay,
    names,
  };
  const scope = names ? `lookups of ${names.join(', ')}` : 'every lookup';
  return {
    driver: DRIVER_NAME,
    mechanism: `fault layer DNS forwarder of ${forwarder}: answers to ${scope} sent ${fault.delay} ms late`,
    faultType: fault.type,
    target: fault.target,
    data,
  };
}

async function apply(faultPlan: FaultPlan, context: DriverContext): Promise<void> {
  const data = parsePlanData(dnsPlanDataSchema, faultPlan, DRIVER_NAME);
  log(
    'injecting dns delay %d ms on forwarder %s, rule %s',
    data.delayMs,
    data.forwarder,
    data.ruleId,
  );
  const client = new FaultLayerClient(data.adminUrl, { signal: context.signal });
  await client.putDnsRule(data.forwarder, {
    ruleId: data.ruleId,
    delayMs: data.delayMs,
    names: data.names ?? undefined,
  });
  log('injected dns delay on %s, rule %s', data.forwarder, data.ruleId);
}

async function verify(faultPlan: FaultPlan, context: DriverContext): Promise<Manifestation> {
  const data = parsePlanData(dnsPlanDataSchema, faultPlan, DRIVER_NAME);
  const client = new FaultLayerClient(data.adminUrl, { signal: context.signal });
  const listing = await client.getDnsForwarder(data.forwarder);
  if (!listing.rules.some((rule) => rule.ruleId === data.ruleId)) {
    return {
      manifested: false,
      detail: `rule ${data.ruleId} missing on forwarder ${data.forwarder}`,
    };
  }
  const listed = `rule ${data.ruleId} set on forwarder ${data.forwarder}`;
  if (data.delayMs > MAX_PROBED_DELAY_MS || listing.port === undefined)
    return { manifested: true, detail: listed };
  const name = data.names?.[0] ?? data.forwarder;
  const elapsedMs = await timeQuery(listing.port, name, data.delayMs + 2_000);
  const manifested = elapsedMs !== undefined && elapsedMs >= data.delayMs * 0.9;
  const measured =
    elapsedMs === undefined ? 'no answer' : `answered in ${Math.round(elapsedMs)} ms`;
  return { manifested, detail: `${listed}; a query for ${name} ${measured}` };
}

/** Sends one A query to a forwarder on 127.0.0.1 and returns how long the answer took, in ms. */
function timeQuery(port: number, name: string, timeoutMs: number): Promise<number | undefined> {
  const socket = createSocket('udp4');
  const startedAt = performance.now();
  return new Promise<number | undefined>((resolve) => {
    const timer = setTimeout(() => resolve(undefined), timeoutMs);
    socket.once('message', () => {
      clearTimeout(timer);
      resolve(performance.now() - startedAt);
    });
    socket.once('error', () => {
      clearTimeout(timer);
      resolve(undefined);
    });
    const query = dnsPacket.encode({
      type: 'query',
      id: 1,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: [{ type: 'A', name }],
    });
    socket.send(query, port, '127.0.0.1');
  }).finally(() => socket.close());
}

async function rollback(
  faultPlan: FaultPlan,
  context: Omit<DriverContext, 'stack'>,
): Promise<void> {
  const data = parsePlanData(dnsPlanDataSchema, faultPlan, DRIVER_NAME);
  const client = new FaultLayerClient(data.adminUrl, { signal: context.signal });
  log('rolling back dns delay on %s, rule %s', data.forwarder, data.ruleId);
  await attemptAll(
    [
      {
        what: `delete rule ${data.ruleId} on forwarder ${data.forwarder}`,
        step: () => client.deleteDnsRule(data.forwarder, data.ruleId),
      },
    ],
    {
      driver: DRIVER_NAME,
      summary: `Rollback of dns_latency on ${faultPlan.target} at ${data.adminUrl}`,
    },
  );
  log('rolled back dns delay on %s, rule %s', data.forwarder, data.ruleId);
}

async function inspect(faultPlan: FaultPlan): Promise<'active' | 'inactive' | 'unknown'> {
  const data = parsePlanData(dnsPlanDataSchema, faultPlan, DRIVER_NAME);
  const client = new FaultLayerClient(data.adminUrl);
  try {
    const found = await readRules([data.forwarder], data.ruleId, (name) =>
      client.getDnsForwarder(name),
    );
    return found.size > 0 ? 'active' : 'inactive';
  } catch {
    return 'unknown';
  }
}

/**
 * Injects `dns_latency`: the fault layer's DNS forwarder of the target service sends its
 * answers late (for an edge target, only answers about the callee).
 */
export const dnsDelayDriver: FaultDriver = {
  name: DRIVER_NAME,
  supports(fault: Fault, stack: StackInfo): boolean {
    if (fault.type !== 'dns_latency' || !stack.faultLayerUrl) return false;
    if (fault.driver !== undefined && fault.driver !== DRIVER_NAME) return false;
    try {
      scopeOf(fault.target, stack);
      return true;
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
