import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { z } from 'zod';
import { createLogger } from '../../../log.ts';
import { CGROUP_V1_ROOT, cgroupPids, makeCgroup, moveToCgroup, removeCgroup } from '../cgroup.ts';
import { isSameProcess, readCgroupPath, requireProcess, waitFor } from '../proc.ts';
import type { ProcessMechanism } from '../mechanism.ts';
import { DRIVER_NAME, processError } from '../mechanism.ts';
import { findExecutable, requireCgroupV1, requireRoot, requireTool } from '../requirements.ts';

const log = createLogger('process');
const CFS_PERIOD_US = 100_000;
/** stress-ng stops by itself after this long if no rollback ever runs, in seconds. */
const STRESS_MAX_LIFETIME_S = 30 * 60;

const schema = z.object({
  service: z.string(),
  pid: z.number().int(),
  startTime: z.number(),
  /** The cpu cgroup made for the fault, with the target and stress-ng inside. */
  cgroup: z.string(),
  /** The target's cpu cgroup before the fault, where rollback moves it back. */
  originalCgroup: z.string(),
  quotaUs: z.number().int(),
  workers: z.number().int(),
  loadPercent: z.number().int(),
});
type Data = z.infer<typeof schema>;

function startStress(data: Data): void {
  const stressNg = findExecutable('stress-ng') ?? 'stress-ng';
  // The shell joins the cgroup before exec, so stress-ng and every worker it forks start inside.
  const script = `echo $$ > "$1/cgroup.procs" && exec "$2" --cpu "$3" --cpu-load "$4" --timeout "$5" --quiet`;
  const args = [
    data.cgroup,
    stressNg,
    String(data.workers),
    String(data.loadPercent),
    `${STRESS_MAX_LIFETIME_S}s`,
  ];
  const child = spawn('sh', ['-c', script, 'cpu-stress', ...args], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
}

function otherTasks(data: Data): number[] {
  return cgroupPids(data.cgroup).filter((pid) => pid !== data.pid);
}

/**
 * Saturates the CPU of the target only: the target moves into a cgroup v1 cpu group limited to
 * `cpu_limit` CPUs, and stress-ng runs `workers` workers at `load` percent in the same group.
 */
export const cpuMechanism: ProcessMechanism<'cpu_saturation', Data> = {
  type: 'cpu_saturation',
  description: 'cgroup v1 cpu quota shared with stress-ng',
  schema,
  requirements: () => [
    ...requireRoot('a cpu cgroup is made and the target moved into it'),
    ...requireCgroupV1('cpu', 'the CPU quota is a cgroup v1 cpu setting'),
    ...requireTool('stress-ng', 'stress-ng burns the CPU inside the target cgroup', 'stress-ng'),
  ],
  plan: (fault, context) => {
    const ref = requireProcess(context.stack, fault.target, DRIVER_NAME);
    const original = readCgroupPath(ref.pid, 'cpu') ?? '/';
    const name = `vitest-chaos-cpu-${context.experimentKey}-${fault.target}`.replace(
      /[^A-Za-z0-9._-]/g,
      '_',
    );
    return {
      service: fault.target,
      ...ref,
      cgroup: join(CGROUP_V1_ROOT, 'cpu', name),
      originalCgroup: join(CGROUP_V1_ROOT, 'cpu', original),
      quotaUs: Math.max(1_000, Math.round(fault.cpu_limit * CFS_PERIOD_US)),
      workers: fault.workers,
      loadPercent: fault.load,
    };
  },
  apply: async (data) => {
    makeCgroup(data.cgroup, {
      'cpu.cfs_period_us': String(CFS_PERIOD_US),
      'cpu.cfs_quota_us': String(data.quotaUs),
    });
    if (!isSameProcess(data) || !moveToCgroup(data.cgroup, data.pid)) {
      throw processError(
        `Process ${data.pid} of ${data.service} exited before the CPU fault.`,
        data.pid,
        'Run the experiment again once the service is up.',
      );
    }
    startStress(data);
    // stress-ng forks one worker per --cpu after its parent joined the group.
    await waitFor(() => otherTasks(data).length >= data.workers + 1, 3_000);
    log(
      'cpu fault on %s: quota %d us, %d stress-ng tasks',
      data.service,
      data.quotaUs,
      otherTasks(data).length,
    );
  },
  verify: async (data) => {
    const targetInside = cgroupPids(data.cgroup).includes(data.pid);
    const stressTasks = otherTasks(data).length;
    return {
      manifested: targetInside && stressTasks > data.workers,
      detail: `${data.service} ${targetInside ? 'is' : 'is not'} in ${data.cgroup} (quota ${data.quotaUs} us per ${CFS_PERIOD_US} us) with ${stressTasks} stress-ng tasks`,
    };
  },
  rollback: async (data) => {
    if (isSameProcess(data)) moveToCgroup(data.originalCgroup, data.pid);
    // Every other task in the fault's own cgroup is stress-ng, so none of them is a reused pid.
    for (const pid of otherTasks(data)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // Already gone.
      }
    }
    await removeCgroup(data.cgroup);
  },
  inspect: async (data) => (cgroupPids(data.cgroup).length > 0 ? 'active' : 'inactive'),
};
