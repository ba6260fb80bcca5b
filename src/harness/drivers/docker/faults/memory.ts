import { z } from 'zod';
import { startInContainer, type ContainerState } from '../engine.ts';
import { DockerFaultError } from '../errors.ts';
import {
  describeContainer,
  forEachContainer,
  isFaultOf,
  sleep,
  type FaultHandler,
  type HandlerRun,
} from '../handler.ts';
import { readMemoryUsageBytes } from '../host.ts';
import {
  faultMarker,
  stopStress,
  STRESS_SAFETY_TIMEOUT_S,
  stressNgRequirements,
  stressRunning,
} from './stress.ts';

const MIB = 1024 * 1024;
/** Allocations smaller than this are skipped: the container already uses that much. */
const MIN_ALLOCATION_BYTES = MIB;
/** How long apply waits for stress-ng to touch its memory, in milliseconds. */
const FILL_TIMEOUT_MS = 10_000;
/** Verify accepts usage this many percentage points under the requested fill. */
const FILL_TOLERANCE_PERCENT = 10;

const paramsSchema = z.object({
  /** Share of the memory limit the container should use while the fault holds, in percent. */
  fillPercent: z.number(),
  safetyTimeoutS: z.number(),
  /** Memory limit of each replica in bytes. */
  limitBytes: z.array(z.number()),
});
type MemoryParams = z.infer<typeof paramsSchema>;

function requireMemoryLimit(state: ContainerState): number {
  const limitBytes = state.HostConfig.Memory;
  if (limitBytes > 0) return limitBytes;
  throw new DockerFaultError(
    'container-unsuitable',
    `Container ${describeContainer(state)} has no memory limit, so a memory fill has nothing to fill.`,
    {
      value: state.Name,
      fix: 'Give the service a limit (mem_limit: 256m in Compose, or --memory 256m).',
    },
  );
}

/** Starts stress-ng holding the bytes that bring the container to the requested fill. */
async function fillContainer(
  run: HandlerRun<MemoryParams>,
  state: ContainerState,
  limitBytes: number,
): Promise<void> {
  const usedBytes = await readMemoryUsageBytes(state.State.Pid);
  const targetBytes = (run.params.fillPercent / 100) * limitBytes;
  const allocationBytes = Math.floor(targetBytes - usedBytes);
  if (allocationBytes < MIN_ALLOCATION_BYTES) {
    run.log(
      '%s already uses %d MiB of %d MiB, no fill needed',
      describeContainer(state),
      usedBytes / MIB,
      limitBytes / MIB,
    );
    return;
  }
  // --vm-keep keeps one mapping and --vm-hang 0 sleeps after touching it once, so the worker
  // keeps the memory without spending CPU.
  const command = [
    'stress-ng',
    '--vm',
    '1',
    '--vm-bytes',
    `${Math.floor(allocationBytes / 1024)}k`,
  ];
  command.push(
    '--vm-keep',
    '--vm-hang',
    '0',
    '--timeout',
    `${run.params.safetyTimeoutS}s`,
    '--quiet',
  );
  await startInContainer(run.socketPath, state.Id, command, { env: [faultMarker(run.key)] });
  const expectedBytes = usedBytes + allocationBytes * 0.9;
  const startedAtMs = Date.now();
  while (Date.now() - startedAtMs < FILL_TIMEOUT_MS) {
    if ((await readMemoryUsageBytes(state.State.Pid)) >= expectedBytes) break;
    await sleep(50);
  }
  run.log(
    'filled %s with %d MiB (limit %d MiB)',
    describeContainer(state),
    Math.round(allocationBytes / MIB),
    limitBytes / MIB,
  );
}

/**
 * `memory`: runs a stress-ng vm worker inside the replicas with `docker exec`, holding memory
 * until the container uses `fill` percent of its memory limit. Needs a memory limit.
 */
export const memoryHandler: FaultHandler<MemoryParams> = {
  types: ['memory'],
  paramsSchema,
  mechanism: () =>
    'docker exec stress-ng --vm inside the container, up to a share of its memory limit',
  async requirements(_fault, containers, socketPath) {
    containers.forEach(requireMemoryLimit);
    return stressNgRequirements(containers, socketPath);
  },
  plan({ fault, containers }) {
    if (!isFaultOf(fault, 'memory')) throw new TypeError(`not a memory fault: ${fault.type}`);
    return Promise.resolve({
      fillPercent: fault.fill,
      safetyTimeoutS: STRESS_SAFETY_TIMEOUT_S,
      limitBytes: containers.map(requireMemoryLimit),
    });
  },
  async apply(run) {
    await forEachContainer(run, async (state, index) => {
      await fillContainer(run, state, run.params.limitBytes[index] ?? requireMemoryLimit(state));
    });
  },
  async verify(run) {
    const lines: string[] = [];
    let filled = 0;
    const found = await forEachContainer(run, async (state, index) => {
      const limitBytes = run.params.limitBytes[index] ?? state.HostConfig.Memory;
      const usedBytes = state.State.Running ? await readMemoryUsageBytes(state.State.Pid) : 0;
      const usedPercent = (usedBytes / limitBytes) * 100;
      if (usedPercent >= run.params.fillPercent - FILL_TOLERANCE_PERCENT) filled += 1;
      lines.push(
        `${describeContainer(state)}: ${Math.round(usedBytes / MIB)} of ${Math.round(limitBytes / MIB)} MiB used (${usedPercent.toFixed(0)}%, requested ${run.params.fillPercent}%)`,
      );
    });
    return { manifested: found > 0 && filled === found, detail: lines.join('; ') };
  },
  rollback: (run) => stopStress(run),
  inspect: (run) => stressRunning(run),
};
