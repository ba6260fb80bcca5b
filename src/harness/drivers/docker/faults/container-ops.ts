import {
  engineCall,
  engineClient,
  engineStatus,
  inspectContainer,
  type ContainerState,
} from '../engine.ts';
import { DockerFaultError } from '../errors.ts';
import { describeContainer, sleep } from '../handler.ts';

/** HTTP 304: the engine found the container already in the requested state. */
const NOT_MODIFIED = 304;

/**
 * Runs a container state change (start, stop, pause, unpause, kill, restart), treating "already
 * in that state" as success, so rollbacks stay idempotent.
 */
export async function changeState(
  socketPath: string,
  containerId: string,
  action: 'start' | 'stop' | 'pause' | 'unpause' | 'kill' | 'restart',
  options: { stopTimeoutS?: number } = {},
): Promise<void> {
  const container = engineClient(socketPath).getContainer(containerId);
  const what = `${action} container ${containerId.slice(0, 12)}`;
  try {
    await engineCall(socketPath, what, async () => {
      if (action === 'start') await container.start();
      else if (action === 'stop') await container.stop({ t: options.stopTimeoutS ?? 1 });
      else if (action === 'pause') await container.pause();
      else if (action === 'unpause') await container.unpause();
      else if (action === 'kill') await container.kill({ signal: 'SIGKILL' });
      else await container.restart({ t: 0 });
    });
  } catch (error) {
    if (engineStatus((error as Error).cause) === NOT_MODIFIED) return;
    if (isAlreadyInState(action, error)) return;
    throw error;
  }
}

function isAlreadyInState(action: string, error: unknown): boolean {
  const message = error instanceof Error ? error.message : '';
  if (action === 'unpause') return /is not paused/.test(message);
  if (action === 'pause') return /is already paused/.test(message);
  if (action === 'kill') return /is not running/.test(message);
  return false;
}

/** How long a container may sit in the restart policy's back-off before it is restarted. */
const RESTART_BACKOFF_GRACE_MS = 2_000;

/**
 * Brings a container back to running and waits for it: starts a stopped one, and restarts one
 * that the restart policy's back-off keeps waiting (Docker doubles that delay after each exit
 * within 10 s). A paused container counts as running. Returns its state once it runs.
 */
export async function ensureRunning(
  socketPath: string,
  containerId: string,
  timeoutMs: number,
): Promise<ContainerState> {
  const startedAtMs = Date.now();
  let restartingSinceMs: number | undefined;
  while (Date.now() - startedAtMs < timeoutMs) {
    const state = await inspectContainer(socketPath, containerId);
    if (!state) {
      throw new DockerFaultError(
        'target-not-found',
        `Container ${containerId.slice(0, 12)} disappeared while it was being started.`,
        {
          value: containerId,
        },
      );
    }
    if (state.State.Running && !state.State.Restarting) return state;
    if (!state.State.Restarting) {
      restartingSinceMs = undefined;
      await changeState(socketPath, containerId, 'start');
    } else {
      restartingSinceMs ??= Date.now();
      if (Date.now() - restartingSinceMs > RESTART_BACKOFF_GRACE_MS) {
        await changeState(socketPath, containerId, 'restart');
        restartingSinceMs = undefined;
      }
    }
    await sleep(100);
  }
  const last = await inspectContainer(socketPath, containerId);
  throw new DockerFaultError(
    'timed-out',
    `Container ${last ? describeContainer(last) : containerId} did not run again within ${timeoutMs} ms (status ${last?.State.Status ?? 'gone'}).`,
    {
      value: containerId,
      fix: 'Check "docker logs" of the container: it may exit at start.',
    },
  );
}

/** Waits until `check` returns true for the container's state, or `timeoutMs` passes. */
export async function waitForState(
  socketPath: string,
  containerId: string,
  check: (state: ContainerState) => boolean,
  timeoutMs: number,
): Promise<ContainerState | undefined> {
  const startedAtMs = Date.now();
  for (;;) {
    const state = await inspectContainer(socketPath, containerId);
    if (!state || check(state)) return state;
    if (Date.now() - startedAtMs >= timeoutMs) return state;
    await sleep(50);
  }
}
