import { z } from 'zod';
import type { MissingRequirement } from '../../../faults/driver.ts';
import type { Fault } from '../../../faults/spec.ts';
import type { StackInfo } from '../../../stack-info.ts';
import type { ContainerState } from '../engine.ts';
import { DockerFaultError, isDockerFaultError } from '../errors.ts';
import {
  describeContainer,
  forEachContainer,
  isFaultOf,
  type FaultHandler,
  type HandlerRun,
} from '../handler.ts';
import { runHostCommand } from '../host.ts';
import { COMPOSE_SERVICE_LABEL, relocateContainer } from '../targets.ts';

/** Container label that names the TCP port the service listens on, for network faults. */
export const PORT_LABEL = 'vitest-chaos.port';
/** Seconds iptables waits for the xtables lock that other tools may hold. */
const LOCK_WAIT_S = '5';

const paramsSchema = z.object({
  /** iptables match and target of the rule in the chain, for example `-j DROP`. */
  rule: z.array(z.string()),
  containers: z.array(
    z.object({
      /** `host`: rules in the host's namespace on the port; `none`: in the container's own namespace. */
      mode: z.enum(['host', 'none']),
      port: z.number().int(),
      chain: z.string(),
    }),
  ),
});
type NetworkParams = z.infer<typeof paramsSchema>;
type ContainerRule = NetworkParams['containers'][number];

function networkModeOf(state: ContainerState): 'host' | 'none' {
  const mode = state.HostConfig.NetworkMode;
  if (mode === 'host' || mode === 'none') return mode;
  throw new DockerFaultError(
    'container-unsuitable',
    `Container ${describeContainer(state)} uses network mode "${mode}"; the driver injects network faults only with network_mode host or none.`,
    {
      value: mode,
      fix: 'Run the service with network_mode: host (rules on its port) or none (rules in its own namespace).',
    },
  );
}

/** Finds the TCP port of a replica: its `vitest-chaos.port` label, the stack's port, or its first exposed port. */
function portOf(state: ContainerState, stack: StackInfo | undefined, target: string): number {
  const service = state.Config.Labels[COMPOSE_SERVICE_LABEL] ?? target;
  const candidates = [
    Number(state.Config.Labels[PORT_LABEL]),
    stack?.services.find((entry) => entry.name === service)?.port,
    Number.parseInt(Object.keys(state.Config.ExposedPorts ?? {})[0] ?? '', 10),
  ];
  const port = candidates.find(
    (value) => value !== undefined && Number.isInteger(value) && value > 0,
  );
  if (port !== undefined) return port;
  throw new DockerFaultError(
    'container-unsuitable',
    `No port known for ${describeContainer(state)}.`,
    {
      value: state.Name,
      fix: `Add the label ${PORT_LABEL}=<port> to the service, or list its port in the stack info.`,
    },
  );
}

function ruleOf(fault: Fault): string[] {
  if (isFaultOf(fault, 'network_loss')) {
    return [
      '-m',
      'statistic',
      '--mode',
      'random',
      '--probability',
      String(fault.probability),
      '-j',
      'DROP',
    ];
  }
  return ['-j', 'DROP'];
}

/**
 * Runs iptables in the host namespace (`host`) or, with nsenter, in the namespace of the
 * container process `pid` (`none`).
 */
function iptables(rule: ContainerRule, pid: number, args: string[]): Promise<string> {
  const full = ['-w', LOCK_WAIT_S, ...args];
  if (rule.mode === 'host') return runHostCommand('iptables', full);
  return runHostCommand('nsenter', ['-t', String(pid), '-n', 'iptables', ...full]);
}

function jumpRule(rule: ContainerRule): string[] {
  return ['INPUT', '-i', 'lo', '-p', 'tcp', '--dport', String(rule.port), '-j', rule.chain];
}

/** Runs an iptables check; returns false when it fails because the rule or chain is absent. */
async function holds(rule: ContainerRule, pid: number, args: string[]): Promise<boolean> {
  try {
    await iptables(rule, pid, args);
    return true;
  } catch (error) {
    if (isDockerFaultError(error, 'host-command-failed')) return false;
    throw error;
  }
}

/** Returns the pid whose namespace contains the rules: 0 in `host` mode, undefined when the container is down. */
function namespacePid(rule: ContainerRule, state: ContainerState | undefined): number | undefined {
  if (rule.mode === 'host') return 0;
  return state?.State.Running && state.State.Pid > 0 ? state.State.Pid : undefined;
}

async function addRules(
  run: HandlerRun<NetworkParams>,
  rule: ContainerRule,
  state: ContainerState,
): Promise<void> {
  const pid = namespacePid(rule, state);
  if (pid === undefined) {
    throw new DockerFaultError(
      'container-unsuitable',
      `Container ${describeContainer(state)} is not running, so it has no network namespace.`,
      {
        value: state.Name,
        fix: 'Start the container before the fault.',
      },
    );
  }
  if (!(await holds(rule, pid, ['-n', '-L', rule.chain])))
    await iptables(rule, pid, ['-N', rule.chain]);
  await iptables(rule, pid, ['-F', rule.chain]);
  await iptables(rule, pid, ['-A', rule.chain, ...run.params.rule]);
  if (!(await holds(rule, pid, ['-C', ...jumpRule(rule)])))
    await iptables(rule, pid, ['-I', ...jumpRule(rule)]);
  run.log(
    'added chain %s (%s) on port %d for %s',
    rule.chain,
    rule.mode,
    rule.port,
    describeContainer(state),
  );
}

/** Removes the jump and the chain; in `host` mode this needs no container, so it works after it is gone. */
async function removeRules(
  run: HandlerRun<NetworkParams>,
  rule: ContainerRule,
  state: ContainerState | undefined,
): Promise<void> {
  const pid = namespacePid(rule, state);
  if (pid === undefined) return;
  // The jump may have been inserted twice by a retried apply: delete until none is left.
  while (await holds(rule, pid, ['-C', ...jumpRule(rule)]))
    await iptables(rule, pid, ['-D', ...jumpRule(rule)]);
  if (await holds(rule, pid, ['-n', '-L', rule.chain])) {
    await iptables(rule, pid, ['-F', rule.chain]);
    await iptables(rule, pid, ['-X', rule.chain]);
  }
  run.log('removed chain %s (%s)', rule.chain, rule.mode);
}

/** Tells whether the jump and a DROP rule in the chain are in place. */
async function rulesInPlace(
  rule: ContainerRule,
  state: ContainerState | undefined,
): Promise<boolean> {
  const pid = namespacePid(rule, state);
  if (pid === undefined || !(await holds(rule, pid, ['-C', ...jumpRule(rule)]))) return false;
  // `-S` rather than `-C`: the kernel stores the statistic probability rounded, so an exact
  // check of the rule as written can fail.
  const listing = await iptables(rule, pid, ['-S', rule.chain]);
  return listing
    .split('\n')
    .some((line) => line.startsWith(`-A ${rule.chain} `) && line.includes('-j DROP'));
}

/** Runs `step` for each rule of the plan with the current container of that replica, if any. */
async function forEachRule(
  run: HandlerRun<NetworkParams>,
  step: (rule: ContainerRule, state: ContainerState | undefined) => Promise<void>,
): Promise<void> {
  for (const [index, rule] of run.params.containers.entries()) {
    const ref = run.refs[index];
    const state = ref ? await relocateContainer(run.socketPath, ref) : undefined;
    await step(rule, state);
  }
}

async function hostTools(containers: ContainerState[]): Promise<MissingRequirement[]> {
  const missing: MissingRequirement[] = [];
  if (process.getuid?.() !== 0) {
    missing.push({
      what: 'root',
      reason: 'iptables and nsenter change the network namespaces',
      fix: 'Run the tests as root.',
    });
  }
  const tools = new Set(['iptables']);
  if (containers.some((state) => state.HostConfig.NetworkMode === 'none')) tools.add('nsenter');
  for (const tool of tools) {
    try {
      await runHostCommand(tool, ['--version']);
    } catch {
      missing.push({
        what: tool,
        reason: 'network faults on containers use it',
        fix: 'apt-get install -y iptables util-linux',
      });
    }
  }
  return missing;
}

/**
 * `network_loss` (packet) and `network_partition`: an iptables chain of the fault's own that
 * drops a share of, or all, TCP packets to the replica's port. With network_mode host the
 * chain sits in the host's INPUT on loopback; with network_mode none it sits in the
 * container's own namespace, entered with `nsenter -t <pid> -n`.
 * NOTE: a replica restarted in `none` mode gets a new namespace without the rules.
 */
export const networkHandler: FaultHandler<NetworkParams> = {
  types: ['network_loss', 'network_partition'],
  paramsSchema,
  mechanism: (fault) =>
    isFaultOf(fault, 'network_loss')
      ? 'iptables statistic DROP on the container port (host or container namespace)'
      : 'iptables DROP on the container port (host or container namespace)',
  async requirements(_fault, containers) {
    containers.forEach(networkModeOf);
    return hostTools(containers);
  },
  plan({ fault, containers, stack, key }) {
    return Promise.resolve({
      rule: ruleOf(fault),
      containers: containers.map((state, index) => ({
        mode: networkModeOf(state),
        port: portOf(state, stack, fault.target),
        // iptables chain names have at most 28 characters.
        chain: `VC-${key.slice(-18)}-${index}`.slice(0, 28),
      })),
    });
  },
  async apply(run) {
    await forEachContainer(run, async (state, index) => {
      const rule = run.params.containers[index];
      if (rule) await addRules(run, rule, state);
    });
  },
  async verify(run) {
    const lines: string[] = [];
    let inPlace = 0;
    await forEachRule(run, async (rule, state) => {
      const ok = await rulesInPlace(rule, state);
      if (ok) inPlace += 1;
      const name = state ? describeContainer(state) : 'gone container';
      lines.push(
        `${name}: chain ${rule.chain} on port ${rule.port} (${rule.mode}) ${ok ? 'in place' : 'missing'}`,
      );
    });
    const total = run.params.containers.length;
    return { manifested: total > 0 && inPlace === total, detail: lines.join('; ') };
  },
  rollback: (run) => forEachRule(run, (rule, state) => removeRules(run, rule, state)),
  async inspect(run) {
    let inPlace = 0;
    await forEachRule(run, async (rule, state) => {
      if (await rulesInPlace(rule, state)) inPlace += 1;
    });
    return inPlace > 0 ? 'active' : 'inactive';
  },
};
