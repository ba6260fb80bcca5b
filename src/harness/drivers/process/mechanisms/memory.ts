import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { z } from 'zod';
import { createLogger } from '../../../log.ts';
import { CGROUP_V1_ROOT } from '../cgroup.ts';
import {
  findProcessesByMarker,
  readCgroupPath,
  requireProcess,
  signalProcess,
  waitFor,
} from '../proc.ts';
import type { ProcessMechanism } from '../mechanism.ts';
import { DRIVER_NAME, processError } from '../mechanism.ts';
import { requireCgroupV1, requireRoot } from '../requirements.ts';

const log = createLogger('process');
/** A limit above this many bytes means the cgroup has no real limit (cgroup v1 reports ~2^63). */
const UNLIMITED_BYTES = 2 ** 60;
/** The filler stops by itself after this long if no rollback ever runs, in milliseconds. */
const FILLER_MAX_LIFETIME_MS = 30 * 60_000;

const schema = z.object({
  service: z.string(),
  pid: z.number().int(),
  startTime: z.number(),
  /** The target's memory cgroup, which the filler joins. */
  cgroup: z.string(),
  limitBytes: z.number(),
  /** Memory use of the cgroup the filler tops up to, in bytes. */
  targetBytes: z.number(),
  marker: z.string(),
});
type Data = z.infer<typeof schema>;

/** Memory held by a cgroup without reclaimable page cache, in bytes, and its limit. */
export function readCgroupMemory(cgroup: string): { usedBytes: number; limitBytes: number } {
  const usage = Number(readFileSync(join(cgroup, 'memory.usage_in_bytes'), 'utf8'));
  const limitBytes = Number(readFileSync(join(cgroup, 'memory.limit_in_bytes'), 'utf8'));
  const inactive = /^total_inactive_file (\d+)$/m.exec(
    readFileSync(join(cgroup, 'memory.stat'), 'utf8'),
  );
  return { usedBytes: usage - Number(inactive?.[1] ?? 0), limitBytes };
}

// Runs inside the target's memory cgroup and holds 4 MiB, then 1 MiB, chunks until the cgroup uses
// the target bytes. Every 250 ms it tops up or gives one chunk back as the target's own use moves,
// so the cgroup stays near the target. Swap counts too where the cgroup accounts for it.
const FILLER = `
const fs = require('node:fs');
const [, cgroup, targetBytes, maxLifetimeMs] = process.argv.slice(1);
const target = Number(targetBytes);
const withSwap = fs.existsSync(cgroup + '/memory.memsw.usage_in_bytes');
const used = () => {
  const file = withSwap ? '/memory.memsw.usage_in_bytes' : '/memory.usage_in_bytes';
  const usage = Number(fs.readFileSync(cgroup + file, 'utf8'));
  const stat = fs.readFileSync(cgroup + '/memory.stat', 'utf8');
  const inactive = /^total_inactive_file (\\d+)$/m.exec(stat);
  return usage - Number(inactive ? inactive[1] : 0);
};
const own = () => fs.readFileSync('/proc/self/cgroup', 'utf8').includes(cgroup.split('/sys/fs/cgroup/memory')[1] + '\\n');
const held = [];
const fill = () => {
  if (!own()) return setTimeout(fill, 10);
  for (const chunk of [4194304, 1048576]) {
    while (used() + chunk <= target) held.push(Buffer.alloc(chunk, 1));
  }
  if (held.length > 0 && used() > target + 4194304) {
    held.pop();
    global.gc();
  }
  setTimeout(fill, 250);
};
fill();
setTimeout(() => process.exit(0), Number(maxLifetimeMs));
`;

function startFiller(data: Data): void {
  const script = `echo $$ > "$1/cgroup.procs" && exec "$2" --max-old-space-size=32 --expose-gc -e "$3" "$4" "$1" "$5" "$6"`;
  const args = [
    data.cgroup,
    process.execPath,
    FILLER,
    data.marker,
    String(data.targetBytes),
    String(FILLER_MAX_LIFETIME_MS),
  ];
  const child = spawn('sh', ['-c', script, 'memory-fill', ...args], {
    detached: true,
    stdio: 'ignore',
  });
  child.unref();
}

/**
 * Fills the target's memory cgroup until it uses `fill` percent of its limit, with a filler
 * process inside the same cgroup, so the target itself meets the pressure inside its limit.
 */
export const memoryMechanism: ProcessMechanism<'memory', Data> = {
  type: 'memory',
  description: 'filler process inside the target memory cgroup',
  schema,
  requirements: () => [
    ...requireRoot('a filler process joins the target memory cgroup'),
    ...requireCgroupV1('memory', 'the target limit is a cgroup v1 memory limit'),
  ],
  plan: (fault, context) => {
    const ref = requireProcess(context.stack, fault.target, DRIVER_NAME);
    const path = readCgroupPath(ref.pid, 'memory');
    const cgroup = join(CGROUP_V1_ROOT, 'memory', path ?? '/');
    const { limitBytes } = path ? readCgroupMemory(cgroup) : { limitBytes: Infinity };
    if (!path || path === '/' || limitBytes > UNLIMITED_BYTES) {
      throw processError(
        `Service "${fault.target}" has no memory limit to fill (memory cgroup ${path ?? 'unknown'}).`,
        fault.target,
        'Start the stack as root so each service gets a memory cgroup with a limit.',
      );
    }
    return {
      service: fault.target,
      ...ref,
      cgroup,
      limitBytes,
      targetBytes: Math.floor((limitBytes * fault.fill) / 100),
      marker: `vitest-chaos-memory-fill:${context.experimentKey}:${fault.target}`,
    };
  },
  apply: async (data) => {
    startFiller(data);
    const filled = await waitFor(
      () => readCgroupMemory(data.cgroup).usedBytes + 8 * 1024 * 1024 >= data.targetBytes,
      5_000,
    );
    log(
      'memory fill of %s: %s, cgroup uses %d bytes',
      data.service,
      filled ? 'done' : 'short',
      readCgroupMemory(data.cgroup).usedBytes,
    );
  },
  verify: async (data) => {
    const { usedBytes } = readCgroupMemory(data.cgroup);
    const fillers = findProcessesByMarker(data.marker).length;
    // The filler tops up in whole chunks and every 250 ms, so the cgroup may stay a little short.
    const manifested = fillers > 0 && usedBytes + 8 * 1024 * 1024 >= data.targetBytes;
    return {
      manifested,
      detail: `${data.cgroup} uses ${usedBytes} of ${data.limitBytes} bytes (target ${data.targetBytes}), ${fillers} filler process(es)`,
    };
  },
  rollback: async (data) => {
    for (const filler of findProcessesByMarker(data.marker)) signalProcess(filler, 'SIGKILL');
    await waitFor(() => findProcessesByMarker(data.marker).length === 0, 3_000);
  },
  inspect: async (data) => (findProcessesByMarker(data.marker).length > 0 ? 'active' : 'inactive'),
};
