import { z } from 'zod';
import type { Manifestation } from '../../../faults/driver.ts';
import type { ContainerState } from '../engine.ts';
import {
  describeContainer,
  forEachContainer,
  type FaultHandler,
  type HandlerRun,
} from '../handler.ts';
import { changeState, ensureRunning, waitForState } from './container-ops.ts';

/** How long apply waits for the engine to report the new state, in milliseconds. */
const STATE_TIMEOUT_MS = 10_000;
/** Seconds `docker stop` waits after SIGTERM before it sends SIGKILL. */
const STOP_TIMEOUT_S = 1;

const downParamsSchema = z.object({
  stopTimeoutS: z.number(),
  /** Per replica: it ran before the fault, so the rollback starts it again. */
  wasRunning: z.array(z.boolean()),
});
type DownParams = z.infer<typeof downParamsSchema>;

async function checkEach<P>(
  run: HandlerRun<P>,
  holds: (state: ContainerState) => boolean,
): Promise<Manifestation> {
  const lines: string[] = [];
  let holding = 0;
  const found = await forEachContainer(run, (state) => {
    if (holds(state)) holding += 1;
    lines.push(`${describeContainer(state)}: ${state.State.Status}`);
    return Promise.resolve();
  });
  return {
    manifested: found > 0 && holding === found,
    detail: lines.join('; ') || 'no container found',
  };
}

async function anyHolds<P>(
  run: HandlerRun<P>,
  holds: (state: ContainerState) => boolean,
): Promise<'active' | 'inactive'> {
  let holding = 0;
  await forEachContainer(run, (state) => {
    if (holds(state)) holding += 1;
    return Promise.resolve();
  });
  return holding > 0 ? 'active' : 'inactive';
}

const isStopped = (state: ContainerState): boolean =>
  !state.State.Running && !state.State.Restarting;

/** `down`: stops the replicas with `docker stop` (so the restart policy stays off) and starts them again. */
export const downHandler: FaultHandler<DownParams> = {
  types: ['down'],
  paramsSchema: downParamsSchema,
  mechanism: () => 'docker stop, then docker start on rollback',
  requirements: () => Promise.resolve([]),
  plan: ({ containers }) =>
    Promise.resolve({
      stopTimeoutS: STOP_TIMEOUT_S,
      wasRunning: containers.map((state) => state.State.Running || state.State.Restarting),
    }),
  async apply(run) {
    await forEachContainer(run, async (state) => {
      await changeState(run.socketPath, state.Id, 'stop', {
        stopTimeoutS: run.params.stopTimeoutS,
      });
      run.log('stopped %s', describeContainer(state));
    });
  },
  verify: (run) => checkEach(run, isStopped),
  async rollback(run) {
    await forEachContainer(run, async (state, index) => {
      if (run.params.wasRunning[index] === false) return;
      await ensureRunning(run.socketPath, state.Id, STATE_TIMEOUT_MS);
    });
  },
  inspect: (run) => anyHolds(run, isStopped),
};

const pauseParamsSchema = z.object({
  /** Per replica: it was paused before the fault, so the rollback leaves it paused. */
  wasPaused: z.array(z.boolean()),
});
type PauseParams = z.infer<typeof pauseParamsSchema>;

const isPaused = (state: ContainerState): boolean => state.State.Paused;

/**
 * `process_pause`: freezes every process of the replicas (`docker pause`, the cgroup freezer).
 * A paused container still completes TCP handshakes in the kernel, so its clients hang until
 * their own timeout instead of being refused.
 */
export const pauseHandler: FaultHandler<PauseParams> = {
  types: ['process_pause'],
  paramsSchema: pauseParamsSchema,
  mechanism: () => 'docker pause (cgroup freezer), docker unpause on rollback',
  requirements: () => Promise.resolve([]),
  plan: ({ containers }) => Promise.resolve({ wasPaused: containers.map(isPaused) }),
  async apply(run) {
    await forEachContainer(run, async (state) => {
      await changeState(run.socketPath, state.Id, 'pause');
      await waitForState(run.socketPath, state.Id, isPaused, STATE_TIMEOUT_MS);
      run.log('paused %s', describeContainer(state));
    });
  },
  verify: (run) => checkEach(run, isPaused),
  async rollback(run) {
    await forEachContainer(run, async (state, index) => {
      if (run.params.wasPaused[index] === true || !state.State.Paused) return;
      await changeState(run.socketPath, state.Id, 'unpause');
      run.log('unpaused %s', describeContainer(state));
    });
  },
  inspect: (run) => anyHolds(run, isPaused),
};
