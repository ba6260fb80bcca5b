import { z } from 'zod';
import type { Logger } from '../../../log.ts';
import type { ContainerState } from '../engine.ts';
import {
  describeContainer,
  forEachContainer,
  isFaultOf,
  type FaultHandler,
  type HandlerRun,
} from '../handler.ts';
import { engineCall, engineClient } from '../engine.ts';
import { DockerFaultError } from '../errors.ts';
import { isContainerProcess } from '../host.ts';
import { relocateContainer } from '../targets.ts';
import { changeState, ensureRunning, waitForState } from './container-ops.ts';

/** Restart policies under which the engine restarts a container whose process was killed. */
const RESTARTING_POLICIES = new Set(['always', 'unless-stopped', 'on-failure']);

/** How long a kill waits for the engine to report the exit, in milliseconds. */
const EXIT_SEEN_TIMEOUT_MS = 5_000;
/** How long a rollback waits for a killed container to run again, in milliseconds. */
const RECOVERY_TIMEOUT_MS = 30_000;

const paramsSchema = z.object({
  /** Kill again every this many milliseconds while the fault holds; null kills once. */
  intervalMs: z.number().nullable(),
  /** Delay after each kill before the driver starts the container again, milliseconds. */
  restartAfterMs: z.number(),
  before: z.array(
    z.object({
      startedAt: z.string(),
      restartCount: z.number(),
      restartPolicy: z.string(),
      maximumRetryCount: z.number().default(0),
    }),
  ),
});
type AvailabilityParams = z.infer<typeof paramsSchema>;

interface KillLoop {
  interval: NodeJS.Timeout | undefined;
  timers: Set<NodeJS.Timeout>;
  kills: number;
  /** Set by the rollback. A kill round that is still running checks it before each kill. */
  stopped: boolean;
  /** Kill rounds still running, which the rollback waits for before it restores anything. */
  rounds: Set<Promise<void>>;
}

/** Reads a restart policy name as the engine means it: an empty name is `no`. */
function policyName(name: string | undefined): string {
  return name === undefined || name === '' ? 'no' : name;
}

/** Tells whether a container's restart policy differs from the one the plan recorded. */
function policyChanged(recorded: string | undefined, state: ContainerState): boolean {
  return (
    recorded !== undefined &&
    policyName(recorded) !== policyName(state.HostConfig.RestartPolicy?.Name)
  );
}

// NOTE: the repeated kills and the delayed starts live in this process. After a crash they stop
// with it, and the rollback from the plan only brings the containers back.
const loops = new Map<string, KillLoop>();

/**
 * Sets a container's restart policy. During the fault the policy is `no` and the driver starts
 * the container after `restart_after`, as a supervisor would. The engine's own policy restarts it
 * at once, then with a growing back-off, so the outage would not last as long as planned.
 */
async function setRestartPolicy(
  socketPath: string,
  containerId: string,
  name: string,
  maximumRetryCount: number,
): Promise<void> {
  const container = engineClient(socketPath).getContainer(containerId);
  const policy =
    name === 'on-failure'
      ? { Name: name, MaximumRetryCount: maximumRetryCount }
      : { Name: policyName(name) };
  await engineCall(
    socketPath,
    `set the restart policy of ${containerId.slice(0, 12)} to ${policyName(name)}`,
    () => container.update({ RestartPolicy: policy }),
  );
}

/**
 * Kills a container's main process with SIGKILL from the host, so the engine records a crash,
 * and starts the container again after the fault's restart delay. `docker kill` is the fallback
 * when the process is not visible from here.
 */
async function killContainer(
  run: HandlerRun<AvailabilityParams>,
  state: ContainerState,
  loop: KillLoop,
): Promise<void> {
  const pid = state.State.Pid;
  const visible = pid > 0 && (await isContainerProcess(pid, state.Id));
  if (loop.stopped) return;
  if (visible) process.kill(pid, 'SIGKILL');
  else await changeState(run.socketPath, state.Id, 'kill');
  loop.kills += 1;
  // The engine notices the exit a moment later; wait for it so verify finds the kill.
  await waitForState(
    run.socketPath,
    state.Id,
    (current) => current.State.Pid !== pid,
    EXIT_SEEN_TIMEOUT_MS,
  );
  run.log(
    'killed %s (pid %d, kill %d of plan %s)',
    describeContainer(state),
    pid,
    loop.kills,
    run.key,
  );
  if (loop.stopped) return;
  const timer = setTimeout(() => {
    loop.timers.delete(timer);
    void ensureRunning(run.socketPath, state.Id, RECOVERY_TIMEOUT_MS).catch((error: unknown) =>
      run.log('starting %s after a kill failed: %O', describeContainer(state), error),
    );
  }, run.params.restartAfterMs);
  loop.timers.add(timer);
}

async function killRunning(run: HandlerRun<AvailabilityParams>, loop: KillLoop): Promise<void> {
  const round = forEachContainer(run, async (state) => {
    if (loop.stopped) return;
    if (state.State.Running && !state.State.Restarting && !state.State.Paused) {
      await killContainer(run, state, loop);
    }
  }).then(() => undefined);
  loop.rounds.add(round);
  try {
    await round;
  } finally {
    loop.rounds.delete(round);
  }
}

/** Stops the kills and the delayed starts of a plan, and waits for a kill round in progress. */
async function stopLoop(key: string): Promise<void> {
  const loop = loops.get(key);
  if (!loop) return;
  loop.stopped = true;
  clearInterval(loop.interval);
  for (const timer of loop.timers) clearTimeout(timer);
  loops.delete(key);
  // A round checks `stopped` before it kills or arms a start, so it adds no timer from here on.
  await Promise.allSettled([...loop.rounds]);
}

function logFailure(log: Logger, key: string) {
  return (error: unknown) => log('repeated kill of plan %s failed: %O', key, error);
}

/**
 * `availability`: kills the replicas once or every interval and starts each again after
 * `restart_after`. The restart policy is off during the fault, and the rollback sets it back.
 */
export const availabilityHandler: FaultHandler<AvailabilityParams> = {
  types: ['availability'],
  paramsSchema,
  mechanism: (fault) =>
    isFaultOf(fault, 'availability') && fault.interval !== undefined
      ? 'docker: SIGKILL of the container process every interval, started again after restart_after'
      : 'docker: SIGKILL of the container process, started again after restart_after',
  requirements: () => Promise.resolve([]),
  plan({ fault, containers }) {
    if (!isFaultOf(fault, 'availability'))
      throw new TypeError(`not an availability fault: ${fault.type}`);
    return Promise.resolve({
      intervalMs: fault.interval ?? null,
      restartAfterMs: fault.restart_after,
      // NOTE: the policy is read now. A container that an earlier run left at `no` after a
      // failed rollback is recorded as `no`, and this plan's rollback keeps it that way.
      before: containers.map((state) => ({
        startedAt: state.State.StartedAt,
        restartCount: state.RestartCount,
        restartPolicy: state.HostConfig.RestartPolicy?.Name ?? '',
        maximumRetryCount: state.HostConfig.RestartPolicy?.MaximumRetryCount ?? 0,
      })),
    });
  },
  async apply(run) {
    await stopLoop(run.key);
    const loop: KillLoop = {
      interval: undefined,
      timers: new Set(),
      kills: 0,
      stopped: false,
      rounds: new Set(),
    };
    loops.set(run.key, loop);
    await forEachContainer(run, async (state, index) => {
      const policy = run.params.before[index]?.restartPolicy ?? '';
      if (RESTARTING_POLICIES.has(policy))
        await setRestartPolicy(run.socketPath, state.Id, 'no', 0);
    });
    await killRunning(run, loop);
    const { intervalMs } = run.params;
    if (intervalMs !== null) {
      loop.interval = setInterval(() => {
        void killRunning(run, loop).catch(logFailure(run.log, run.key));
      }, intervalMs);
    }
  },
  async verify(run) {
    const lines: string[] = [];
    let killed = 0;
    const found = await forEachContainer(run, (state, index) => {
      const before = run.params.before[index];
      const restarted =
        !before ||
        state.State.StartedAt !== before.startedAt ||
        state.RestartCount > before.restartCount ||
        !state.State.Running;
      if (restarted) killed += 1;
      lines.push(
        `${describeContainer(state)}: ${state.State.Status}, started ${state.State.StartedAt}, restarts ${before?.restartCount ?? '?'} -> ${state.RestartCount}`,
      );
      return Promise.resolve();
    });
    const kills = loops.get(run.key)?.kills;
    const killsText = kills === undefined ? '' : `; ${kills} kill(s) so far`;
    return { manifested: found > 0 && killed === found, detail: `${lines.join('; ')}${killsText}` };
  },
  async rollback(run) {
    await stopLoop(run.key);
    // Every policy goes back before any start waits, so one container that fails to start
    // leaves no other replica with its restart policy off.
    const failures: string[] = [];
    const found: string[] = [];
    for (const [index, ref] of run.refs.entries()) {
      try {
        const state = await relocateContainer(run.socketPath, ref);
        if (!state) continue;
        found.push(state.Id);
        const before = run.params.before[index];
        if (before && policyChanged(before.restartPolicy, state)) {
          await setRestartPolicy(
            run.socketPath,
            state.Id,
            before.restartPolicy,
            before.maximumRetryCount,
          );
        }
      } catch (error) {
        failures.push(`${ref.name}: ${error instanceof Error ? error.message : String(error)}`);
      }
    }
    for (const containerId of found) {
      try {
        await ensureRunning(run.socketPath, containerId, RECOVERY_TIMEOUT_MS);
      } catch (error) {
        failures.push(error instanceof Error ? error.message : String(error));
      }
    }
    if (failures.length > 0) {
      throw new DockerFaultError(
        'engine-request-failed',
        `Rolling back the kill of plan ${run.key} failed for ${failures.length} container(s): ${failures.join('; ')}`,
        {
          value: run.key,
          fix: 'Check "docker ps -a" and "docker logs" of those containers, then run "npx vitest-chaos cleanup".',
        },
      );
    }
  },
  async inspect(run) {
    if (loops.has(run.key)) return 'active';
    let down = 0;
    let policyOff = 0;
    await forEachContainer(run, (state, index) => {
      if (!state.State.Running || state.State.Restarting) down += 1;
      if (policyChanged(run.params.before[index]?.restartPolicy, state)) policyOff += 1;
      return Promise.resolve();
    });
    // A restart policy still switched off means a rollback has not run yet.
    if (policyOff > 0) return 'active';
    return down > 0 ? 'unknown' : 'inactive';
  },
};
