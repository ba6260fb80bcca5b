import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { z } from 'zod';
import { createLogger } from '../../../log.ts';
import {
  currentPid,
  findProcessesByMarker,
  isSameProcess,
  requireProcess,
  signalProcess,
  waitFor,
} from '../proc.ts';
import type { ProcessMechanism } from '../mechanism.ts';
import { DRIVER_NAME, processError } from '../mechanism.ts';

const log = createLogger('process');

/** A kill loop outlives a lost rollback by at most this long, in milliseconds. */
const KILLER_MAX_LIFETIME_MS = 30 * 60_000;
/** How long rollback waits for the supervisor to bring the service back, beyond its delay. */
const RESTART_GRACE_MS = 8_000;

const schema = z.object({
  service: z.string(),
  pid: z.number().int(),
  startTime: z.number(),
  intervalMs: z.number().nullable(),
  restartAfterMs: z.number(),
  supervisorUrl: z.string().nullable(),
  pidFile: z.string().nullable(),
  /** Text in the command line of the kill loop, so rollback finds it after a crash. */
  marker: z.string(),
});
type Data = z.infer<typeof schema>;

// Runs detached: every interval it SIGKILLs the pid in the pid file; it ends when the pid file's
// folder disappears (the stack stopped) or after its maximum lifetime.
const KILL_LOOP = `
const fs = require('node:fs');
const path = require('node:path');
const [, pidFile, intervalMs, maxLifetimeMs] = process.argv.slice(1);
setTimeout(() => process.exit(0), Number(maxLifetimeMs));
setInterval(() => {
  if (!fs.existsSync(path.dirname(pidFile))) process.exit(0);
  try { process.kill(Number(fs.readFileSync(pidFile, 'utf8')), 'SIGKILL'); } catch {}
}, Number(intervalMs));
`;

async function setRestartDelay(data: Data, delayMs: number | undefined): Promise<void> {
  if (!data.supervisorUrl) return;
  const url = `${data.supervisorUrl}/services/${data.service}/policy`;
  const response = await fetch(url, {
    method: delayMs === undefined ? 'DELETE' : 'PUT',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ restartDelayMs: delayMs }),
  });
  if (!response.ok) {
    throw processError(
      `The supervisor rejected the restart delay (${response.status}).`,
      url,
      'Check that the stack is still running.',
    );
  }
}

function startKillLoop(data: Data): void {
  if (!data.pidFile || data.intervalMs === null) return;
  const child = spawn(
    process.execPath,
    [
      '-e',
      KILL_LOOP,
      data.marker,
      data.pidFile,
      String(data.intervalMs),
      String(KILLER_MAX_LIFETIME_MS),
    ],
    { detached: true, stdio: 'ignore', env: { PATH: process.env.PATH ?? '' } },
  );
  child.unref();
  log('kill loop %d started for %s every %d ms', child.pid, data.service, data.intervalMs);
}

/**
 * Kills the target's process with SIGKILL, once or every `interval`, while the stack's supervisor
 * restarts it after `restart_after`, as an orchestrator would.
 */
export const availabilityMechanism: ProcessMechanism<'availability', Data> = {
  type: 'availability',
  description: 'SIGKILL of the target process, restarted by the supervisor',
  schema,
  requirements: () => [],
  plan: (fault, context) => {
    const ref = requireProcess(context.stack, fault.target, DRIVER_NAME);
    const stateDir = context.stack.stateDir;
    if (fault.interval !== undefined && !stateDir) {
      throw processError(
        'Killing every interval needs the stack state folder with pid files.',
        fault.target,
        'Describe stateDir in the stack info.',
      );
    }
    return {
      service: fault.target,
      ...ref,
      intervalMs: fault.interval ?? null,
      restartAfterMs: fault.restart_after,
      supervisorUrl: context.stack.supervisorUrl ?? null,
      pidFile: stateDir ? join(stateDir, 'pids', `${fault.target}.pid`) : null,
      marker: `vitest-chaos-kill-loop:${context.experimentKey}:${fault.target}`,
    };
  },
  apply: async (data, context) => {
    await setRestartDelay(data, data.restartAfterMs);
    const pid = currentPid(context.stack, data.service);
    const target =
      pid === data.pid
        ? data
        : pid
          ? requireProcess(context.stack, data.service, DRIVER_NAME)
          : undefined;
    if (target) signalProcess(target, 'SIGKILL');
    startKillLoop(data);
  },
  verify: async (data) => {
    const gone = await waitFor(() => !isSameProcess(data), 2_000);
    const loops = findProcessesByMarker(data.marker).length;
    const loopOk = data.intervalMs === null || loops > 0;
    return {
      manifested: gone && loopOk,
      detail:
        `process ${data.pid} of ${data.service} ${gone ? 'was killed' : 'still runs'}` +
        (data.intervalMs === null
          ? ''
          : `; ${loops} kill loop(s) running every ${data.intervalMs} ms`),
    };
  },
  rollback: async (data, context) => {
    for (const loop of findProcessesByMarker(data.marker)) signalProcess(loop, 'SIGKILL');
    await setRestartDelay(data, undefined).catch((error: unknown) => {
      log('restoring the restart delay of %s failed: %s', data.service, String(error));
    });
    const stack = context.stack;
    if (stack) {
      await waitFor(
        () => currentPid(stack, data.service) !== undefined,
        data.restartAfterMs + RESTART_GRACE_MS,
        100,
      );
    }
  },
  inspect: async (data) => (findProcessesByMarker(data.marker).length > 0 ? 'active' : 'inactive'),
};
