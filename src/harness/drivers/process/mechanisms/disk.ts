import { execFile } from 'node:child_process';
import { existsSync, rmSync, statfsSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { z } from 'zod';
import { findService } from '../../../stack-info.ts';
import type { ProcessMechanism } from '../mechanism.ts';
import { processError } from '../mechanism.ts';
import { requireTool } from '../requirements.ts';

const run = promisify(execFile);

const schema = z.object({
  service: z.string(),
  /** The folder whose volume is filled. */
  path: z.string(),
  ballastFile: z.string(),
  fillPercent: z.number(),
});
type Data = z.infer<typeof schema>;

/** Used share of a volume in percent, and its free and total bytes. */
export function readVolume(path: string): {
  usedPercent: number;
  freeBytes: number;
  totalBytes: number;
} {
  const stats = statfsSync(path);
  const totalBytes = stats.blocks * stats.bsize;
  const freeBytes = stats.bavail * stats.bsize;
  return { usedPercent: ((totalBytes - freeBytes) / totalBytes) * 100, freeBytes, totalBytes };
}

/** Bytes the ballast needs so the volume is `fillPercent` used, at most its free space. */
function ballastBytes(path: string, fillPercent: number): number {
  const { freeBytes, totalBytes } = readVolume(path);
  const wanted = Math.ceil((totalBytes * fillPercent) / 100) - (totalBytes - freeBytes);
  return Math.max(0, Math.min(wanted, freeBytes));
}

/**
 * Fills the volume the target writes to until `fill` percent of it is used, with a ballast file
 * made by fallocate in the target's data folder (or `path`); rollback deletes the ballast.
 */
export const diskMechanism: ProcessMechanism<'disk_fill', Data> = {
  type: 'disk_fill',
  description: 'fallocate ballast file in the target volume',
  schema,
  requirements: () => requireTool('fallocate', 'fallocate makes the ballast file', 'util-linux'),
  plan: (fault, context) => {
    const path = fault.path ?? findService(context.stack, fault.target).dataDir;
    if (!path || !existsSync(path)) {
      throw processError(
        `No folder to fill for "${fault.target}" (${path ?? 'no dataDir in the stack info'}).`,
        path ?? fault.target,
        'Give the fault a `path` that exists, or a dataDir to the service in the stack info.',
      );
    }
    return {
      service: fault.target,
      path,
      ballastFile: join(path, `.vitest-chaos-ballast-${context.experimentKey}`),
      fillPercent: fault.fill,
    };
  },
  apply: async (data) => {
    const bytes = ballastBytes(data.path, data.fillPercent);
    if (bytes === 0) return;
    try {
      await run('fallocate', ['-l', String(bytes), data.ballastFile]);
    } catch (error) {
      rmSync(data.ballastFile, { force: true });
      throw processError(
        `fallocate of ${bytes} bytes in ${data.path} failed.`,
        data.ballastFile,
        'Check that the volume supports fallocate (tmpfs, ext4 and xfs do).',
        error,
      );
    }
  },
  verify: async (data) => {
    const volume = readVolume(data.path);
    const present = existsSync(data.ballastFile);
    return {
      manifested: present && volume.usedPercent + 0.5 >= data.fillPercent,
      detail: `${data.path} is ${volume.usedPercent.toFixed(1)}% used (${volume.freeBytes} bytes free), ballast ${present ? 'present' : 'missing'}`,
    };
  },
  rollback: async (data) => {
    rmSync(data.ballastFile, { force: true });
  },
  inspect: async (data) => (existsSync(data.ballastFile) ? 'active' : 'inactive'),
};
