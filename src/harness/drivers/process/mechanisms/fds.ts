import { execFile } from 'node:child_process';
import { readFileSync, readdirSync, readlinkSync } from 'node:fs';
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

/** Socket inodes in the LISTEN state, from /proc/<pid>/net/tcp and tcp6. */
function listeningInodes(pid: number): Set<string> {
  const inodes = new Set<string>();
  for (const file of ['tcp', 'tcp6']) {
    try {
      for (const line of readFileSync(`/proc/${pid}/net/${file}`, 'utf8').split('\n').slice(1)) {
        const fields = line.trim().split(/\s+/);
        if (fields[3] === '0A' && fields[9]) inodes.add(fields[9]);
      }
    } catch {
      // No IPv6 table on this host.
    }
  }
  return inodes;
}

/**
 * Returns the lowest descriptor number not held by a persistent descriptor (anything but a
 * connected socket). A new descriptor takes the lowest free number and fails with EMFILE when
 * that number reaches the soft limit, so a limit at this value leaves no number free for new
 * sockets once the connections open at the time of the fault have closed.
 */
export function persistentDescriptorEnd(pid: number): number {
  const listening = listeningInodes(pid);
  const persistent = new Set<number>();
  for (const entry of readdirSync(`/proc/${pid}/fd`)) {
    try {
      const link = readlinkSync(`/proc/${pid}/fd/${entry}`);
      const inode = /^socket:\[(\d+)\]$/.exec(link)?.[1];
      if (!inode || listening.has(inode) || Number(entry) <= 2) persistent.add(Number(entry));
    } catch {
      // Closed while listing.
    }
  }
  let end = 0;
  while (persistent.has(end)) end += 1;
  return end;
}

/** Computes the lowered soft limit: the persistent descriptors plus the headroom `fill` leaves. */
function loweredLimit(data: Data): number {
  const end = persistentDescriptorEnd(data.pid);
  return end + Math.floor((data.softLimit - end) * (1 - data.fillPercent / 100));
}

/**
 * Exhausts the target's file descriptors by lowering its open-files soft limit (prlimit) to its
 * persistent descriptors plus the share of the headroom `fill` leaves, so new sockets and files
 * fail with EMFILE.
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
      manifested: soft < data.softLimit,
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
