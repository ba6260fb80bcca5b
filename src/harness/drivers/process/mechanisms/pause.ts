import { z } from 'zod';
import { isSameProcess, readState, requireProcess, signalProcess, waitFor } from '../proc.ts';
import type { ProcessMechanism } from '../mechanism.ts';
import { DRIVER_NAME } from '../mechanism.ts';

const schema = z.object({ service: z.string(), pid: z.number().int(), startTime: z.number() });
type Data = z.infer<typeof schema>;

function isPaused(data: Data): boolean {
  const state = readState(data.pid);
  return isSameProcess(data) && (state === 'T' || state === 't');
}

/** Freezes the target's process with SIGSTOP and resumes it with SIGCONT. */
export const pauseMechanism: ProcessMechanism<'process_pause', Data> = {
  type: 'process_pause',
  description: 'SIGSTOP of the target process, SIGCONT on rollback',
  schema,
  requirements: () => [],
  plan: (fault, context) => ({
    service: fault.target,
    ...requireProcess(context.stack, fault.target, DRIVER_NAME),
  }),
  apply: async (data) => {
    signalProcess(data, 'SIGSTOP');
  },
  verify: async (data) => {
    // The kernel stops the process asynchronously after the signal, so allow it a moment.
    const paused = await waitFor(() => isPaused(data), 1_000, 10);
    return {
      manifested: paused,
      detail: `process ${data.pid} of ${data.service} is in state ${readState(data.pid) ?? 'gone'}`,
    };
  },
  rollback: async (data) => {
    signalProcess(data, 'SIGCONT');
  },
  inspect: async (data) => (isPaused(data) ? 'active' : 'inactive'),
};
