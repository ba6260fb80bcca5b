import { createHash, randomBytes } from 'node:crypto';
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
import { findService, type StackInfo } from '../../stack-info.ts';
import { ToxiproxyApi } from '../toxiproxy/client.ts';
import { NetworkFaultError } from '../toxiproxy/errors.ts';
import { loopbackAddress } from '../toxiproxy/probe.ts';
import { iptables, restoreFilterRules, restoreLine, runCommand } from './exec.ts';
import { readChainCounters, removeEmptyFilterTable, nftFilterTableExists } from './tables.ts';

export { iptablesSnapshot } from './exec.ts';
export { readChainCounters } from './tables.ts';

const log = createLogger('iptables');
const DRIVER_NAME = 'iptables';

/** The `data` of an iptables fault plan: all that rollback needs after a crash. */
export const iptablesPlanDataSchema = z.object({
  experimentKey: z.string(),
  /** Chain of this fault alone, jumped to from `hook`. */
  chain: z.string().regex(/^chaos-[a-z0-9-]{1,22}$/),
  hook: z.literal('INPUT'),
  port: z.number().int().min(1).max(65_535),
  /** Share of packets to the port that are dropped, 0..1. */
  probability: z.number().min(0).max(1),
  /** Arguments of the jump rule after `-I INPUT` / `-D INPUT`. */
  jump: z.array(z.string()),
  /** Arguments of each rule after `-A <chain>`. */
  rules: z.array(z.array(z.string())),
  /** Whether the nftables table `ip filter` existed before the fault (nft backend only). */
  filterTableExisted: z.boolean(),
});
export type IptablesPlanData = z.infer<typeof iptablesPlanDataSchema>;

function parsePlan(plan: FaultPlan): IptablesPlanData {
  const parsed = iptablesPlanDataSchema.safeParse(plan.data);
  if (parsed.success) return parsed.data;
  const issues = parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
  throw new NetworkFaultError('plan-invalid', `Invalid iptables plan: ${issues.join('; ')}.`, {
    driver: DRIVER_NAME,
    value: plan.data,
    fix: 'Remove the chain by hand: iptables -D INPUT ... -j <chain>; iptables -F <chain>; iptables -X <chain>.',
  });
}

/** Returns a chain name unique to the experiment and this plan, at most 28 characters. */
function chainName(experimentKey: string): string {
  const key = createHash('sha1').update(experimentKey).digest('hex').slice(0, 8);
  return `chaos-${key}-${randomBytes(3).toString('hex')}`;
}

/**
 * Returns the TCP port whose packets are dropped: the service's own port for a service target,
 * the Toxiproxy listen port of the edge for an edge target.
 */
async function targetPort(target: string, stack: StackInfo, signal?: AbortSignal): Promise<number> {
  const edge = parseEdge(target);
  if (!edge) return findService(stack, target).port;
  const info = stack.edges.find((e) => e.caller === edge.caller && e.callee === edge.callee);
  const proxyName = info?.toxiproxyProxy;
  const proxy =
    proxyName && stack.toxiproxyUrl
      ? await new ToxiproxyApi(stack.toxiproxyUrl, { signal }).getProxy(proxyName)
      : undefined;
  const address = proxy && loopbackAddress(proxy.listen);
  if (!address) {
    throw new NetworkFaultError(
      'target-invalid',
      `The edge ${target} has no loopback Toxiproxy listener whose port iptables could match.`,
      {
        driver: DRIVER_NAME,
        value: target,
        fix: 'Target the callee service instead, which drops packets to its own port.',
      },
    );
  }
  return address.port;
}

async function checkRequirements(): Promise<MissingRequirement[]> {
  const missing: MissingRequirement[] = [];
  if (process.getuid?.() !== 0) {
    missing.push({
      what: 'root',
      reason: 'iptables rules need CAP_NET_ADMIN',
      fix: 'run the suite as root (sudo) or in a container with --cap-add NET_ADMIN',
    });
  }
  const version = await runCommand('iptables', ['--version']).catch(() => undefined);
  if (!version || version.exitCode !== 0) {
    missing.push({
      what: 'iptables',
      reason: 'real packet loss is an iptables statistic rule',
      fix: 'apt-get install -y iptables',
    });
  }
  return missing;
}

async function plan(fault: Fault, context: DriverContext): Promise<FaultPlan> {
  if (fault.type !== 'network_loss') {
    throw new NetworkFaultError(
      'plan-invalid',
      `The iptables driver injects network_loss only, not ${fault.type}.`,
      {
        driver: DRIVER_NAME,
        value: fault.type,
        fix: 'Remove `driver: iptables` from this fault.',
      },
    );
  }
  const port = await targetPort(fault.target, context.stack, context.signal);
  const chain = chainName(context.experimentKey);
  const match = ['-p', 'tcp', '--dport', String(port)];
  const data: IptablesPlanData = {
    experimentKey: context.experimentKey,
    chain,
    hook: 'INPUT',
    port,
    probability: fault.probability,
    jump: [...match, '-j', chain],
    // The first rule only counts the packets that reach the chain; the second drops a share.
    rules: [
      match,
      [
        ...match,
        '-m',
        'statistic',
        '--mode',
        'random',
        '--probability',
        String(fault.probability),
        '-j',
        'DROP',
      ],
    ],
    filterTableExisted: await nftFilterTableExists(),
  };
  return {
    driver: DRIVER_NAME,
    mechanism: `iptables statistic rule: drops ${fault.probability} of the TCP packets to port ${port} at random (per packet), in chain ${chain}`,
    faultType: fault.type,
    target: fault.target,
    data,
  };
}

async function apply(faultPlan: FaultPlan): Promise<void> {
  const data = parsePlan(faultPlan);
  log(
    'injecting packet loss %d on port %d (%s), chain %s',
    data.probability,
    data.port,
    faultPlan.target,
    data.chain,
  );
  const lines = [
    `:${data.chain} - [0:0]`,
    ...data.rules.map((rule) => restoreLine(['-A', data.chain, ...rule])),
    restoreLine(['-I', data.hook, '1', ...data.jump]),
  ];
  const result = await restoreFilterRules(lines);
  if (result.exitCode !== 0) {
    throw new NetworkFaultError(
      'iptables-failed',
      `iptables-restore --noflush failed with exit code ${result.exitCode}: ${result.stderr.trim()}. Rules: ${lines.join(' | ')}.`,
      {
        driver: DRIVER_NAME,
        value: lines,
        fix: 'Run as root and check that the statistic match is available (modprobe xt_statistic).',
      },
    );
  }
  log('injected packet loss on %s, chain %s', faultPlan.target, data.chain);
}

async function chainExists(chain: string): Promise<boolean> {
  return (await runCommand('iptables', ['-w', '-S', chain])).exitCode === 0;
}

async function verify(faultPlan: FaultPlan): Promise<Manifestation> {
  const data = parsePlan(faultPlan);
  const hookRules = await iptables(['-S', data.hook]);
  const jumped = hookRules.split('\n').some((line) => line.endsWith(`-j ${data.chain}`));
  const chainRules = (await chainExists(data.chain)) ? await iptables(['-S', data.chain]) : '';
  const dropping = chainRules.includes('statistic') && chainRules.includes('-j DROP');
  const counters = dropping ? await readChainCounters(data.chain) : undefined;
  return {
    manifested: jumped && dropping,
    detail:
      `jump from ${data.hook} ${jumped ? 'present' : 'missing'}, statistic DROP rule in ${data.chain} ${dropping ? 'present' : 'missing'}` +
      (counters
        ? `, ${counters.droppedPackets} of ${counters.seenPackets} packets dropped so far`
        : ''),
  };
}

async function rollback(faultPlan: FaultPlan): Promise<void> {
  const data = parsePlan(faultPlan);
  log('rolling back packet loss on %s, chain %s', faultPlan.target, data.chain);
  // One atomic call removes the jump and the chain. It fails as a whole when something is
  // already gone or the jump was inserted twice, and the step-by-step path below handles that.
  const fast = await restoreFilterRules([
    restoreLine(['-D', data.hook, ...data.jump]),
    restoreLine(['-F', data.chain]),
    restoreLine(['-X', data.chain]),
  ]);
  if (fast.exitCode !== 0) {
    log(
      'atomic removal of chain %s failed (%s), removing step by step',
      data.chain,
      fast.stderr.trim(),
    );
    await removeStepByStep(data);
  }
  if (!data.filterTableExisted) await removeEmptyFilterTable();
  log('rolled back packet loss on %s, chain %s removed', faultPlan.target, data.chain);
}

async function removeStepByStep(data: IptablesPlanData): Promise<void> {
  // Delete every copy of the jump: a retried apply may have inserted it twice.
  for (let attempt = 0; attempt < 10; attempt++) {
    const result = await runCommand('iptables', ['-w', '-D', data.hook, ...data.jump]);
    if (result.exitCode !== 0) break;
  }
  if (await chainExists(data.chain)) {
    await iptables(['-F', data.chain]);
    await iptables(['-X', data.chain]);
  }
}

async function inspect(faultPlan: FaultPlan): Promise<'active' | 'inactive' | 'unknown'> {
  try {
    return (await chainExists(parsePlan(faultPlan).chain)) ? 'active' : 'inactive';
  } catch {
    return 'unknown';
  }
}

/**
 * Injects real packet loss (`network_loss` with `mechanism: 'packet'` or `driver: 'iptables'`):
 * an iptables statistic rule drops a random share of TCP packets to the target's port, in a
 * chain of the fault's own that rollback removes with its jump.
 */
export const iptablesDriver: FaultDriver = {
  name: DRIVER_NAME,
  supports(fault: Fault, stack: StackInfo): boolean {
    if (fault.type !== 'network_loss') return false;
    if (
      fault.driver !== DRIVER_NAME &&
      !(fault.driver === undefined && fault.mechanism === 'packet')
    )
      return false;
    const edge = parseEdge(fault.target);
    if (edge) return stack.edges.some((e) => e.caller === edge.caller && e.callee === edge.callee);
    return stack.services.some((service) => service.name === fault.target);
  },
  checkRequirements,
  plan,
  apply,
  verify,
  rollback,
  inspect,
};
