import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { z } from 'zod';
import { findService } from '../../../stack-info.ts';
import { readEnvironment, requireProcess } from '../proc.ts';
import type { ProcessMechanism } from '../mechanism.ts';
import { DRIVER_NAME, processError } from '../mechanism.ts';
import { requireFaketime } from '../requirements.ts';

const schema = z.object({
  service: z.string(),
  pid: z.number().int(),
  startTime: z.number(),
  clockFile: z.string(),
  /** libfaketime offset written while the fault holds, for example `+60s`. */
  offset: z.string(),
  /** The file's content before the fault, restored on rollback. */
  restore: z.string(),
});
type Data = z.infer<typeof schema>;

/** Formats an offset in milliseconds as a libfaketime relative offset in seconds: `+60s`. */
export function formatFaketimeOffset(offsetMs: number): string {
  const seconds = Math.round(offsetMs / 1_000);
  return `${seconds < 0 ? '-' : '+'}${Math.abs(seconds)}s`;
}

/**
 * Shifts the target's clock by writing a relative offset into the libfaketime timestamp file the
 * target reads (it runs with FAKETIME_TIMESTAMP_FILE and a 1 s cache); rollback writes back the
 * previous content, `+0` for the embedded stack.
 */
export const clockMechanism: ProcessMechanism<'time_skew', Data> = {
  type: 'time_skew',
  description: 'libfaketime timestamp file offset',
  schema,
  requirements: () => requireFaketime('the target clock runs under libfaketime'),
  plan: (fault, context) => {
    const clockFile = findService(context.stack, fault.target).clockFile;
    const ref = requireProcess(context.stack, fault.target, DRIVER_NAME);
    const preload = readEnvironment(ref.pid, 'LD_PRELOAD') ?? '';
    if (!clockFile || !existsSync(clockFile) || !preload.includes('faketime')) {
      throw processError(
        `Service "${fault.target}" does not run under libfaketime with a clock file.`,
        { clockFile: clockFile ?? null, LD_PRELOAD: preload },
        'Start it with LD_PRELOAD=<libfaketime.so.1> FAKETIME_TIMESTAMP_FILE=<file> FAKETIME_DONT_FAKE_MONOTONIC=1 FAKETIME_CACHE_DURATION=1, and set clockFile in the stack info.',
      );
    }
    return {
      service: fault.target,
      ...ref,
      clockFile,
      offset: formatFaketimeOffset(fault.offset),
      restore: readFileSync(clockFile, 'utf8').trim() || '+0',
    };
  },
  apply: async (data) => {
    writeFileSync(data.clockFile, `${data.offset}\n`);
  },
  verify: async (data) => {
    const content = readFileSync(data.clockFile, 'utf8').trim();
    const environmentFile = readEnvironment(data.pid, 'FAKETIME_TIMESTAMP_FILE');
    return {
      manifested: content === data.offset && environmentFile === data.clockFile,
      detail: `${data.clockFile} contains ${content}; process ${data.pid} reads ${environmentFile ?? 'no clock file'}`,
    };
  },
  rollback: async (data) => {
    if (existsSync(data.clockFile)) writeFileSync(data.clockFile, `${data.restore}\n`);
  },
  inspect: async (data) => {
    if (!existsSync(data.clockFile)) return 'unknown';
    return readFileSync(data.clockFile, 'utf8').trim() === data.offset ? 'active' : 'inactive';
  },
};
