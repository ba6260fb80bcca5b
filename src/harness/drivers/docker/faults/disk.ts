import { lstat, open, rm, statfs } from 'node:fs/promises';
import { posix } from 'node:path';
import { z } from 'zod';
import type { ContainerState } from '../engine.ts';
import { DockerFaultError } from '../errors.ts';
import {
  describeContainer,
  forEachContainer,
  isFaultOf,
  type FaultHandler,
  type HandlerRun,
} from '../handler.ts';
import { hostPathOf } from '../host.ts';

const MIB = 1024 * 1024;
/**
 * Largest ballast the driver writes, in bytes. A fill of a folder on the host's disk (the
 * container's root file system, a bind mount) would otherwise fill the host.
 */
export const MAX_BALLAST_BYTES = 1024 * MIB;
/** Verify accepts usage this many percentage points under the requested fill. */
const FILL_TOLERANCE_PERCENT = 2;
const CHUNK_BYTES = MIB;

const paramsSchema = z.object({
  fillPercent: z.number(),
  /** Folder inside each replica whose volume is filled. */
  paths: z.array(z.string()),
  /** Host folder of each path when it is a named volume or a bind mount, else null. */
  sources: z.array(z.string().nullable()),
  ballastName: z.string(),
});
type DiskParams = z.infer<typeof paramsSchema>;

/** Picks the folder to fill: the fault's `path`, else the replica's first tmpfs, else its first volume. */
function fillPath(state: ContainerState, requested: string | undefined): string {
  if (requested !== undefined) return requested;
  const tmpfs = Object.keys(state.HostConfig.Tmpfs ?? {})[0];
  if (tmpfs !== undefined) return tmpfs;
  const mount = state.Mounts.find((entry) => entry.Type === 'tmpfs' || entry.Type === 'volume');
  if (mount) return mount.Destination;
  throw new DockerFaultError(
    'container-unsuitable',
    `Container ${describeContainer(state)} has no tmpfs or volume to fill.`,
    {
      value: state.Name,
      fix: 'Give the service a sized tmpfs (tmpfs: ["/data:size=64m"] in Compose) or set path in the fault.',
    },
  );
}

function mountSource(state: ContainerState, path: string): string | null {
  const mount = state.Mounts.find((entry) => entry.Destination === path && entry.Type !== 'tmpfs');
  return mount?.Source || null;
}

async function usage(hostDir: string): Promise<{ totalBytes: number; usedBytes: number }> {
  const stats = await statfs(hostDir);
  return {
    totalBytes: stats.blocks * stats.bsize,
    usedBytes: (stats.blocks - stats.bfree) * stats.bsize,
  };
}

/** Writes zeros to the ballast file until it has `bytes` bytes or the volume is full. */
async function writeBallast(file: string, bytes: number): Promise<number> {
  const handle = await open(file, 'w');
  const chunk = Buffer.alloc(CHUNK_BYTES);
  let written = 0;
  try {
    while (written < bytes) {
      const { bytesWritten } = await handle.write(chunk, 0, Math.min(CHUNK_BYTES, bytes - written));
      written += bytesWritten;
    }
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'ENOSPC') throw error;
  } finally {
    await handle.close();
  }
  return written;
}

async function fillVolume(
  run: HandlerRun<DiskParams>,
  state: ContainerState,
  path: string,
): Promise<void> {
  const hostDir = await hostPathOf(state, path);
  const { totalBytes, usedBytes } = await usage(hostDir);
  const ballastBytes = Math.floor((run.params.fillPercent / 100) * totalBytes - usedBytes);
  if (ballastBytes > MAX_BALLAST_BYTES) {
    throw new DockerFaultError(
      'container-unsuitable',
      `Filling ${path} in ${describeContainer(state)} to ${run.params.fillPercent}% needs ${Math.round(ballastBytes / MIB)} MiB, more than the ${MAX_BALLAST_BYTES / MIB} MiB the driver writes.`,
      {
        value: path,
        fix: 'Mount a tmpfs with a size (tmpfs: ["/data:size=64m"]) and fill that.',
      },
    );
  }
  if (ballastBytes <= 0) return;
  const written = await writeBallast(posix.join(hostDir, run.params.ballastName), ballastBytes);
  run.log(
    'wrote %d MiB of ballast to %s in %s',
    Math.round(written / MIB),
    path,
    describeContainer(state),
  );
}

async function removeBallast(
  run: HandlerRun<DiskParams>,
  state: ContainerState,
  index: number,
): Promise<void> {
  const path = run.params.paths[index] ?? '/';
  const source = run.params.sources[index] ?? null;
  // A stopped container's tmpfs is gone; a volume or bind mount keeps the file on the host.
  const dirs = [
    state.State.Running ? await hostPathOf(state, path) : undefined,
    source ?? undefined,
  ];
  for (const dir of dirs) {
    if (dir !== undefined) await rm(posix.join(dir, run.params.ballastName), { force: true });
  }
}

/**
 * `disk_fill`: writes a ballast file into a volume of the replicas (a sized tmpfs, or a
 * volume), through the container's root as seen from the host, until the volume is `fill`
 * percent full. Deleting the file heals it at once.
 */
export const diskHandler: FaultHandler<DiskParams> = {
  types: ['disk_fill'],
  paramsSchema,
  mechanism: () => 'ballast file in a volume of the container, written through /proc/<pid>/root',
  async requirements(fault, containers) {
    const path = isFaultOf(fault, 'disk_fill') ? fault.path : undefined;
    containers.forEach((state) => fillPath(state, path));
    return Promise.resolve([]);
  },
  plan({ fault, containers, key }) {
    if (!isFaultOf(fault, 'disk_fill')) throw new TypeError(`not a disk_fill fault: ${fault.type}`);
    const paths = containers.map((state) => fillPath(state, fault.path));
    return Promise.resolve({
      fillPercent: fault.fill,
      paths,
      sources: containers.map((state, index) => mountSource(state, paths[index] ?? '/')),
      ballastName: `.vitest-chaos-ballast-${key}`,
    });
  },
  async apply(run) {
    await forEachContainer(run, (state, index) =>
      fillVolume(run, state, run.params.paths[index] ?? '/'),
    );
  },
  async verify(run) {
    const lines: string[] = [];
    let filled = 0;
    const found = await forEachContainer(run, async (state, index) => {
      const path = run.params.paths[index] ?? '/';
      if (!state.State.Running) {
        lines.push(`${describeContainer(state)}: not running`);
        return;
      }
      const { totalBytes, usedBytes } = await usage(await hostPathOf(state, path));
      const usedPercent = (usedBytes / totalBytes) * 100;
      if (usedPercent >= run.params.fillPercent - FILL_TOLERANCE_PERCENT) filled += 1;
      lines.push(
        `${describeContainer(state)}: ${path} ${usedPercent.toFixed(1)}% used of ${Math.round(totalBytes / MIB)} MiB (requested ${run.params.fillPercent}%)`,
      );
    });
    return { manifested: found > 0 && filled === found, detail: lines.join('; ') };
  },
  async rollback(run) {
    await forEachContainer(run, (state, index) => removeBallast(run, state, index));
  },
  async inspect(run) {
    let present = 0;
    await forEachContainer(run, async (state, index) => {
      if (!state.State.Running) return;
      const dir = await hostPathOf(state, run.params.paths[index] ?? '/');
      present += await lstat(posix.join(dir, run.params.ballastName)).then(
        () => 1,
        () => 0,
      );
    });
    return present > 0 ? 'active' : 'inactive';
  },
};
