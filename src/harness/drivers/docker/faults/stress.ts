import { z } from 'zod';
import type { MissingRequirement } from '../../../faults/driver.ts';
import {
  engineCall,
  engineClient,
  execInContainer,
  startInContainer,
  type ContainerState,
} from '../engine.ts';
import { isDockerFaultError } from '../errors.ts';
import {
  describeContainer,
  forEachContainer,
  isFaultOf,
  sleep,
  type FaultHandler,
  type HandlerRun,
} from '../handler.ts';
import { killMarkedProcesses, markedProcesses, readCpuUsageNs } from '../host.ts';

/**
 * Seconds after which stress-ng stops by itself, so a fault whose runner crashed and was never
 * cleaned up does not load the container forever.
 * NOTE: a fault held longer than this (30 min) ends early.
 */
export const STRESS_SAFETY_TIMEOUT_S = 1_800;
/** Name of the environment variable that marks the processes a fault starts in a container. */
export const FAULT_MARKER_VARIABLE = 'VITEST_CHAOS_FAULT';
/** CFS period the driver sets with a CPU quota, in microseconds (the kernel default). */
const CPU_PERIOD_US = 100_000;
/** Window over which verify measures the container's CPU use, in milliseconds. */
const CPU_SAMPLE_MS = 500;
/** Windows verify samples at most before it reports the CPU as not saturated. */
const CPU_SAMPLE_WINDOWS = 3;
/**
 * CPU use that counts as saturated: 40% of the expected use, or 0.15 CPUs when that is lower.
 * An idle service uses almost none, and on a crowded host stress-ng gets only its fair share.
 */
function saturatedCpus(expectedCpus: number): number {
  return Math.min(expectedCpus * 0.4, 0.15);
}
/** How long apply waits for stress-ng's workers to appear, in milliseconds. */
const WORKERS_TIMEOUT_MS = 3_000;

/** Returns the environment entry that marks the processes one fault starts in a container. */
export function faultMarker(key: string): string {
  return `${FAULT_MARKER_VARIABLE}=${key}`;
}

/** Checks, with one exec per container, that stress-ng runs inside it. */
export async function stressNgRequirements(
  containers: ContainerState[],
  socketPath: string,
): Promise<MissingRequirement[]> {
  const missing: MissingRequirement[] = [];
  for (const state of containers) {
    if (!state.State.Running) continue;
    try {
      await execInContainer(socketPath, state.Id, ['stress-ng', '--version']);
    } catch (error) {
      if (!isDockerFaultError(error, 'tool-missing')) throw error;
      missing.push({
        what: `stress-ng in image ${state.Config.Image}`,
        reason: `the fault runs stress-ng inside ${describeContainer(state)}`,
        fix: 'Add stress-ng and the libraries ldd lists to the image; scripts/docker-build-image.sh builds one.',
      });
    }
  }
  return missing;
}

export async function stopStress<P>(run: HandlerRun<P>): Promise<void> {
  await forEachContainer(run, async (state) => {
    if (!state.State.Running || state.State.Pid <= 0) return;
    const killed = await killMarkedProcesses(state.State.Pid, faultMarker(run.key));
    if (killed > 0)
      run.log('killed %d stress-ng process(es) in %s', killed, describeContainer(state));
  });
}

export async function stressRunning<P>(run: HandlerRun<P>): Promise<'active' | 'inactive'> {
  let running = 0;
  await forEachContainer(run, async (state) => {
    if (state.State.Running && state.State.Pid > 0) {
      running += (await markedProcesses(state.State.Pid, faultMarker(run.key))).length;
    }
  });
  return running > 0 ? 'active' : 'inactive';
}

const cpuParamsSchema = z.object({
  workers: z.number().int(),
  loadPercent: z.number(),
  safetyTimeoutS: z.number(),
  containers: z.array(
    z.object({
      /** CPUs the container may use while the fault holds. */
      limitCpus: z.number(),
      /** The container had no CPU limit, so the driver sets one for the fault and removes it after. */
      setsQuota: z.boolean(),
    }),
  ),
});
type CpuParams = z.infer<typeof cpuParamsSchema>;

/** Reads a container's CPU limit in CPUs from `--cpus` or its CFS quota, or 0 without one. */
function cpuLimitOf(state: ContainerState): number {
  if (state.HostConfig.NanoCpus > 0) return state.HostConfig.NanoCpus / 1e9;
  if (state.HostConfig.CpuQuota > 0) {
    return state.HostConfig.CpuQuota / (state.HostConfig.CpuPeriod || CPU_PERIOD_US);
  }
  return 0;
}

async function setCpuQuota(
  socketPath: string,
  state: ContainerState,
  quotaUs: number,
): Promise<void> {
  const container = engineClient(socketPath).getContainer(state.Id);
  await engineCall(socketPath, `update the CPU quota of ${state.Id.slice(0, 12)}`, () =>
    container.update({ CpuPeriod: CPU_PERIOD_US, CpuQuota: quotaUs }),
  );
}

/** Waits until `count` marked processes run (stress-ng's parent and its workers), bounded. */
async function waitForWorkers(containerPid: number, marker: string, count: number): Promise<void> {
  const startedAtMs = Date.now();
  while (Date.now() - startedAtMs < WORKERS_TIMEOUT_MS) {
    if ((await markedProcesses(containerPid, marker)).length >= count) return;
    await sleep(20);
  }
}

async function sampleCpus(pid: number): Promise<number> {
  const startNs = await readCpuUsageNs(pid);
  const startedAtMs = Date.now();
  await sleep(CPU_SAMPLE_MS);
  const usedNs = (await readCpuUsageNs(pid)) - startNs;
  return usedNs / ((Date.now() - startedAtMs) * 1e6);
}

/**
 * `cpu_saturation`: runs stress-ng inside the replicas with `docker exec`, so it shares their
 * CPU limit. A replica without a CPU limit gets the fault's `cpu_limit` as a CFS quota for the
 * duration of the fault.
 */
export const cpuHandler: FaultHandler<CpuParams> = {
  types: ['cpu_saturation'],
  paramsSchema: cpuParamsSchema,
  mechanism: () => 'docker exec stress-ng --cpu inside the container, bounded by its CPU limit',
  requirements: (_fault, containers, socketPath) => stressNgRequirements(containers, socketPath),
  plan({ fault, containers }) {
    if (!isFaultOf(fault, 'cpu_saturation'))
      throw new TypeError(`not a cpu_saturation fault: ${fault.type}`);
    return Promise.resolve({
      workers: fault.workers,
      loadPercent: fault.load,
      safetyTimeoutS: STRESS_SAFETY_TIMEOUT_S,
      containers: containers.map((state) => {
        const limitCpus = cpuLimitOf(state);
        return limitCpus > 0
          ? { limitCpus, setsQuota: false }
          : { limitCpus: fault.cpu_limit, setsQuota: true };
      }),
    });
  },
  async apply(run) {
    const { workers, loadPercent, safetyTimeoutS } = run.params;
    await forEachContainer(run, async (state, index) => {
      const limit = run.params.containers[index];
      if (limit?.setsQuota)
        await setCpuQuota(run.socketPath, state, Math.round(limit.limitCpus * CPU_PERIOD_US));
      const command = ['stress-ng', '--cpu', String(workers), '--cpu-load', String(loadPercent)];
      command.push('--timeout', `${safetyTimeoutS}s`, '--quiet');
      await startInContainer(run.socketPath, state.Id, command, { env: [faultMarker(run.key)] });
      await waitForWorkers(state.State.Pid, faultMarker(run.key), workers + 1);
      run.log(
        'started stress-ng --cpu %d in %s (limit %s CPUs)',
        workers,
        describeContainer(state),
        limit?.limitCpus,
      );
    });
  },
  async verify(run) {
    const lines: string[] = [];
    let saturated = 0;
    const found = await forEachContainer(run, async (state, index) => {
      const limit = run.params.containers[index]?.limitCpus ?? 1;
      const expectedCpus = Math.min(limit, (run.params.workers * run.params.loadPercent) / 100);
      let usedCpus = 0;
      for (let window = 0; window < CPU_SAMPLE_WINDOWS && state.State.Running; window += 1) {
        usedCpus = await sampleCpus(state.State.Pid);
        if (usedCpus >= saturatedCpus(expectedCpus)) break;
      }
      const processes = state.State.Running
        ? await markedProcesses(state.State.Pid, faultMarker(run.key))
        : [];
      if (processes.length > 0 && usedCpus >= saturatedCpus(expectedCpus)) saturated += 1;
      lines.push(
        `${describeContainer(state)}: ${processes.length} stress-ng process(es), ${usedCpus.toFixed(2)} of ${limit} CPUs used (expected about ${expectedCpus.toFixed(2)})`,
      );
    });
    return { manifested: found > 0 && saturated === found, detail: lines.join('; ') };
  },
  async rollback(run) {
    await stopStress(run);
    await forEachContainer(run, async (state, index) => {
      // -1 removes the CFS quota again; the engine treats 0 as "leave unchanged".
      if (run.params.containers[index]?.setsQuota) await setCpuQuota(run.socketPath, state, -1);
    });
  },
  inspect: (run) => stressRunning(run),
};
