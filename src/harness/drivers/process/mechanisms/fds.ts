import { execFile } from 'node:child_process';
import { readFileSync, readdirSync } from 'node:fs';
import { promisify } from 'node:util';
import { z } from 'zod';
import { isSameProcess, requireProcess } from '../proc.ts';
import type { ProcessMechanism } from '../mechanism.ts';
import { DRIVER_NAME, processError } from '../mechanism.ts';
import { requireTool } from '../requirements.ts';

const run = promisify(execFile);

const schema = z.object({
  service: z.string(),
  pid: z.number().int(),
  startTime: z.number(),
  fillPercent: z.number(),
  softLimit: z.number().int(),
  hardLimit: z.number().int(),
});
type Data = z.infer<typeof schema>;

/** Reads the open-files limits of a process from /proc/<pid>/limits. */
export function readFileLimits(pid: number): { soft: number; hard: number } {
  const line = readFileSync(`/proc/${pid}/limits`, 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('Max open files'));
  const [soft, hard] = (line ?? '').replace('Max open files', '').trim().split(/\s+/);
  const parse = (value: string | undefined): number =>
    value === 'unlimited' ? 1_048_576 : Number(value);
  return { soft: parse(soft), hard: parse(hard) };
}

export function countOpenFiles(pid: number): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** Computes the lowered soft limit: open files plus the share of the headroom that `fill` leaves. */
function loweredLimit(data: Data): number {
  const open = countOpenFiles(data.pid);
  return open + Math.floor((data.softLimit - open) * (1 - data.fillPercent / 100));
}

/**
 * Exhausts the target's file descriptors by lowering its open-files soft limit (prlimit) to the
 * descriptors it has open plus what `fill` leaves, so new sockets and files fail with EMFILE.
 */
export const fdMechanism: ProcessMechanism<'fd_exhaustion', Data> = {
  type: 'fd_exhaustion',
  description: 'prlimit of the open-files limit down to the open descriptors',
  schema,
  requirements: () =>
    requireTool('prlimit', 'prlimit lowers the limit of a running process', 'util-linux'),
  plan: (fault, context) => {
    const ref = requireProcess(context.stack, fault.target, DRIVER_NAME);
    const limits = readFileLimits(ref.pid);
    return {
      service: fault.target,
      ...ref,
      fillPercent: fault.fill,
      softLimit: limits.soft,
      hardLimit: limits.hard,
    };
  },
  apply: async (data) => {
    if (!isSameProcess(data)) {
      throw processError(
        `Process ${data.pid} of ${data.service} exited before the fault.`,
        data.pid,
        'Run the experiment again once the service is up.',
      );
    }
    const limit = loweredLimit(data);
    await run('prlimit', ['--pid', String(data.pid), `--nofile=${limit}:${data.hardLimit}`]);
  },
  verify: async (data) => {
    if (!isSameProcess(data)) return { manifested: false, detail: `process ${data.pid} is gone` };
    const { soft } = readFileLimits(data.pid);
    const open = countOpenFiles(data.pid);
    return {
      manifested:
        soft < data.softLimit &&
        soft <= open + (data.softLimit - open) * (1 - data.fillPercent / 100) + 1,
      detail: `process ${data.pid} of ${data.service} has ${open} open files, soft limit ${soft} (was ${data.softLimit})`,
    };
  },
  rollback: async (data) => {
    // A restarted process starts with the default limit, so only the same process is restored.
    if (!isSameProcess(data)) return;
    await run('prlimit', [
      '--pid',
      String(data.pid),
      `--nofile=${data.softLimit}:${data.hardLimit}`,
    ]);
  },
  inspect: async (data) => {
    if (!isSameProcess(data)) return 'inactive';
    return readFileLimits(data.pid).soft < data.softLimit ? 'active' : 'inactive';
  },
};
