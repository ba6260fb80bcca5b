import { z } from 'zod';
import type {
  DriverContext,
  FaultDriver,
  FaultPlan,
  Manifestation,
  MissingRequirement,
} from '../../faults/driver.ts';
import type { Fault } from '../../faults/spec.ts';
import { createLogger } from '../../log.ts';
import type { StackInfo } from '../../stack-info.ts';
import { ToxiproxyApi, type ToxicSpec } from './client.ts';
import { NetworkFaultError } from './errors.ts';
import { TOXIPROXY_INSTALL_COMMAND } from './server.ts';
import { resolveEdges } from './targets.ts';
import { designToxics, toxicName, TOXIPROXY_FAULT_TYPES } from './toxics.ts';
import { probeEffect } from './verify.ts';

export { startToxiproxyServer, findFreePort, TOXIPROXY_INSTALL_COMMAND } from './server.ts';
export type { RunningToxiproxyServer, ToxiproxyServerOptions } from './server.ts';
export { ToxiproxyApi, ToxiproxyRequestError, TOXIPROXY_REQUEST_TIMEOUT_MS } from './client.ts';
export type { ProxyState, ToxicSpec, ToxicState } from './client.ts';
export { NetworkFaultError } from './errors.ts';
export type { NetworkFaultReason } from './errors.ts';
export { resolveEdges, edgeRouteName } from './targets.ts';
export { toxicName, TOXIPROXY_FAULT_TYPES } from './toxics.ts';

const log = createLogger('toxiproxy');
const DRIVER_NAME = 'toxiproxy';

const plannedToxicSchema = z.object({
  proxy: z.string(),
  name: z.string(),
  type: z.enum(['latency', 'bandwidth', 'timeout', 'reset_peer']),
  stream: z.enum(['upstream', 'downstream']),
  toxicity: z.number().min(0).max(1),
  attributes: z.record(z.string(), z.number()),
});

/** The `data` of a Toxiproxy fault plan: all that rollback needs after a crash. */
export const toxiproxyPlanDataSchema = z.object({
  toxiproxyUrl: z.string(),
  experimentKey: z.string(),
  /** The fault's parameters with units in their names (`latencyMs`, `rateKBps`). */
  params: z.record(z.string(), z.union([z.number(), z.string()])),
  toxics: z.array(plannedToxicSchema),
  /** Proxies the fault disables (`down`); rollback enables them again. */
  disabledProxies: z.array(z.string()),
  /** Proxy and callee health path of one edge, for a real request showing the effect. */
  probe: z.object({ proxy: z.string(), path: z.string() }).nullable(),
});
export type ToxiproxyPlanData = z.infer<typeof toxiproxyPlanDataSchema>;

/** Parses the data of a journaled plan; throws a `NetworkFaultError` naming the invalid field. */
export function parseToxiproxyPlan(plan: FaultPlan): ToxiproxyPlanData {
  const parsed = toxiproxyPlanDataSchema.safeParse(plan.data);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  throw new NetworkFaultError('plan-invalid', `Invalid toxiproxy plan: ${issues.join('; ')}.`, {
    driver: DRIVER_NAME,
    value: plan.data,
    fix: 'The journal entry was not written by this driver version; remove the toxics by hand.',
  });
}

function handles(fault: Fault): boolean {
  if (fault.driver !== undefined && fault.driver !== DRIVER_NAME) return false;
  if (fault.type === 'network_loss' && fault.mechanism === 'packet') return false;
  return (TOXIPROXY_FAULT_TYPES as readonly string[]).includes(fault.type);
}

function edgesOf(fault: Fault, stack: StackInfo) {
  const between = fault.type === 'network_partition' ? fault.between : undefined;
  return resolveEdges(stack, fault.target, between);
}

async function checkRequirements(
  fault: Fault,
  context: DriverContext,
): Promise<MissingRequirement[]> {
  const url = context.stack.toxiproxyUrl;
  if (!url) {
    return [
      {
        what: 'toxiproxy',
        reason: `the stack routes no edge through Toxiproxy (no toxiproxyUrl) for the ${fault.type} fault`,
        fix: 'set toxiproxyUrl in the stack description, or use the embedded stack',
      },
    ];
  }
  const api = new ToxiproxyApi(url, { signal: context.signal });
  try {
    await api.version();
  } catch (error) {
    return [
      {
        what: 'toxiproxy-server',
        reason: `not reachable at ${url}: ${error instanceof Error ? error.message : String(error)}`,
        fix: `install it with \`${TOXIPROXY_INSTALL_COMMAND}\` and start it (startToxiproxyServer)`,
      },
    ];
  }
  const missing: MissingRequirement[] = [];
  for (const edge of edgesOf(fault, context.stack)) {
    const proxy = edge.toxiproxyProxy;
    if (proxy && (await api.getProxy(proxy))) continue;
    missing.push({
      what: `toxiproxy proxy ${proxy ?? `for ${edge.caller}->${edge.callee}`}`,
      reason: `the edge ${edge.caller}->${edge.callee} has no proxy on ${url}`,
      fix: 'create the proxy (the embedded stack creates one per edge) and set toxiproxyProxy',
    });
  }
  return missing;
}

async function plan(fault: Fault, context: DriverContext): Promise<FaultPlan> {
  const toxiproxyUrl = context.stack.toxiproxyUrl;
  if (!toxiproxyUrl) {
    throw new NetworkFaultError('target-invalid', `The stack has no toxiproxyUrl.`, {
      driver: DRIVER_NAME,
      fix: 'Run checkRequirements first, or describe the Toxiproxy server in the stack.',
    });
  }
  const edges = edgesOf(fault, context.stack);
  const design = designToxics(fault);
  const proxies = edges.map((edge) => {
    if (edge.toxiproxyProxy) return edge.toxiproxyProxy;
    throw new NetworkFaultError(
      'target-invalid',
      `Edge ${edge.caller}->${edge.callee} has no Toxiproxy proxy.`,
      {
        driver: DRIVER_NAME,
        value: edge,
        fix: 'Set toxiproxyProxy on the edge in the stack description.',
      },
    );
  });
  const toxics = proxies.flatMap((proxy) =>
    design.toxics.map((toxic) => ({
      proxy,
      name: toxicName(context.experimentKey, fault.type, toxic.stream),
      ...toxic,
    })),
  );
  const first = edges[0];
  const callee = context.stack.services.find((service) => service.name === first?.callee);
  const data: ToxiproxyPlanData = {
    toxiproxyUrl,
    experimentKey: context.experimentKey,
    params: design.params,
    toxics,
    disabledProxies: design.disableProxy ? proxies : [],
    probe: proxies[0] ? { proxy: proxies[0], path: callee?.healthPath ?? '/health' } : null,
  };
  return {
    driver: DRIVER_NAME,
    mechanism: design.mechanism,
    faultType: fault.type,
    target: fault.target,
    data,
  };
}

async function apply(faultPlan: FaultPlan, context: DriverContext): Promise<void> {
  const data = parseToxiproxyPlan(faultPlan);
  const api = new ToxiproxyApi(data.toxiproxyUrl, { signal: context.signal });
  const ids = data.toxics.map((toxic) => `${toxic.proxy}/${toxic.name}`);
  log(
    'injecting %s on %s: toxics %o, disabling %o',
    faultPlan.faultType,
    faultPlan.target,
    ids,
    data.disabledProxies,
  );
  try {
    for (const { proxy, ...toxic } of data.toxics) {
      await api.addToxic(proxy, toxic satisfies ToxicSpec);
    }
    for (const proxy of data.disabledProxies) await api.setEnabled(proxy, false);
  } catch (error) {
    log('failed to inject %s on %s: %s', faultPlan.faultType, faultPlan.target, String(error));
    throw error;
  }
  log('injected %s on %s', faultPlan.faultType, faultPlan.target);
}

async function verify(faultPlan: FaultPlan, context: DriverContext): Promise<Manifestation> {
  const data = parseToxiproxyPlan(faultPlan);
  const api = new ToxiproxyApi(data.toxiproxyUrl, { signal: context.signal });
  const state = await readState(api, data);
  if (state.missing.length > 0) {
    return {
      manifested: false,
      detail: `not in place on ${data.toxiproxyUrl}: ${state.missing.join(', ')}`,
    };
  }
  const listed = `${data.toxics.length} toxic(s) listed, ${data.disabledProxies.length} proxy(ies) disabled`;
  const probe = await probeEffect(faultPlan.faultType, data, api);
  if (!probe) return { manifested: true, detail: listed };
  return { manifested: probe.manifested, detail: `${listed}; ${probe.detail}` };
}

/** Lists what of the plan is not in place (`missing`) and what still is (`present`). */
async function readState(api: ToxiproxyApi, data: ToxiproxyPlanData) {
  const missing: string[] = [];
  const present: string[] = [];
  const proxies = new Set([...data.toxics.map((toxic) => toxic.proxy), ...data.disabledProxies]);
  for (const name of proxies) {
    const proxy = await api.getProxy(name);
    for (const toxic of data.toxics.filter((candidate) => candidate.proxy === name)) {
      const found = proxy?.toxics.find((candidate) => candidate.name === toxic.name);
      const same =
        found &&
        sameAttributes(found.attributes, toxic.attributes) &&
        found.toxicity === toxic.toxicity;
      (same ? present : missing).push(`toxic ${name}/${toxic.name}`);
    }
    if (data.disabledProxies.includes(name)) {
      (proxy && !proxy.enabled ? present : missing).push(`disabled proxy ${name}`);
    }
  }
  return { missing, present };
}

function sameAttributes(
  actual: Record<string, unknown>,
  expected: Record<string, number>,
): boolean {
  return Object.entries(expected).every(([key, value]) => actual[key] === value);
}

async function rollback(
  faultPlan: FaultPlan,
  context: Omit<DriverContext, 'stack'> & { stack?: StackInfo },
): Promise<void> {
  const data = parseToxiproxyPlan(faultPlan);
  const api = new ToxiproxyApi(data.toxiproxyUrl, { signal: context.signal });
  log('rolling back %s on %s', faultPlan.faultType, faultPlan.target);
  const failures: string[] = [];
  let firstError: unknown;
  const attempt = async (what: string, step: () => Promise<unknown>) => {
    try {
      await step();
    } catch (error) {
      failures.push(`${what}: ${error instanceof Error ? error.message : String(error)}`);
      firstError ??= error;
    }
  };
  for (const toxic of data.toxics) {
    await attempt(`remove toxic ${toxic.proxy}/${toxic.name}`, () =>
      api.removeToxic(toxic.proxy, toxic.name),
    );
  }
  // NOTE: enabling a proxy again also ends a `down` fault of another experiment on that proxy.
  for (const proxy of data.disabledProxies) {
    await attempt(`enable proxy ${proxy}`, async () => {
      if (await api.getProxy(proxy)) await api.setEnabled(proxy, true);
    });
  }
  if (failures.length === 0) {
    log('rolled back %s on %s', faultPlan.faultType, faultPlan.target);
    return;
  }
  log('rollback of %s on %s failed: %o', faultPlan.faultType, faultPlan.target, failures);
  throw new NetworkFaultError(
    'toxiproxy-request-failed',
    `Rollback of ${faultPlan.faultType} on ${faultPlan.target} failed at ${data.toxiproxyUrl}: ${failures.join('; ')}.`,
    {
      driver: DRIVER_NAME,
      cause: firstError,
      value: data.toxiproxyUrl,
      fix: 'The plan is unchanged and still names every toxic: retry the rollback (vitest-chaos cleanup) once the Toxiproxy server is reachable. A restarted server starts with no toxics.',
    },
  );
}

async function inspect(faultPlan: FaultPlan): Promise<'active' | 'inactive' | 'unknown'> {
  const data = parseToxiproxyPlan(faultPlan);
  try {
    const state = await readState(new ToxiproxyApi(data.toxiproxyUrl), data);
    return state.present.length > 0 ? 'active' : 'inactive';
  } catch {
    return 'unknown';
  }
}

/**
 * Injects latency, bandwidth, network_partition, down, connection_reset and network_loss (per
 * connection) on the Toxiproxy proxies of a stack's edges, with toxic names unique per experiment.
 */
export const toxiproxyDriver: FaultDriver = {
  name: DRIVER_NAME,
  supports(fault: Fault, stack: StackInfo): boolean {
    if (!handles(fault) || !stack.toxiproxyUrl) return false;
    try {
      return edgesOf(fault, stack).every((edge) => edge.toxiproxyProxy !== undefined);
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
