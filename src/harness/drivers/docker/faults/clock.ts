import { readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { z } from 'zod';
import type { MissingRequirement } from '../../../faults/driver.ts';
import { singleFileTar } from '../archive.ts';
import {
  containerEnv,
  engineCall,
  engineClient,
  execInContainer,
  type ContainerState,
} from '../engine.ts';
import { DockerFaultError, isDockerFaultError } from '../errors.ts';
import {
  describeContainer,
  forEachContainer,
  isFaultOf,
  type FaultHandler,
  type HandlerRun,
} from '../handler.ts';
import { hostPathOf } from '../host.ts';

/** Timestamp file content that means no offset. */
const NO_OFFSET = '+0';
/** Verify accepts this much difference between the measured and the requested skew, ms. */
const SKEW_TOLERANCE_MS = 2_000;

const paramsSchema = z.object({
  offsetMs: z.number(),
  /** Text written to the timestamp file: signed seconds, for example `+60` or `-1.5`. */
  offsetText: z.string(),
  clockFiles: z.array(z.string()),
  /** Content of each timestamp file before the fault, restored on rollback; null when absent. */
  previous: z.array(z.string().nullable()),
});
type ClockParams = z.infer<typeof paramsSchema>;

/** The setup a container needs: libfaketime preloaded and reading its offset from a file. */
const SETUP_FIX =
  'Mount /usr/lib/x86_64-linux-gnu/faketime read-only at /opt/faketime and set LD_PRELOAD=/opt/faketime/libfaketime.so.1, FAKETIME_TIMESTAMP_FILE=/tmp/faketime, FAKETIME_DONT_FAKE_MONOTONIC=1 and FAKETIME_CACHE_DURATION=1 (fixtures/docker/compose.yaml does).';

function clockFileOf(state: ContainerState): string | undefined {
  const preload = containerEnv(state, 'LD_PRELOAD') ?? '';
  const file = containerEnv(state, 'FAKETIME_TIMESTAMP_FILE');
  return preload.includes('faketime') && file?.startsWith('/') ? file : undefined;
}

function requireClockFile(state: ContainerState): string {
  const file = clockFileOf(state);
  if (file !== undefined) return file;
  throw new DockerFaultError(
    'container-unsuitable',
    `Container ${describeContainer(state)} does not preload libfaketime with FAKETIME_TIMESTAMP_FILE.`,
    {
      value: state.Name,
      fix: SETUP_FIX,
    },
  );
}

/** Formats an offset for libfaketime: signed seconds with up to three decimals. */
export function faketimeOffset(offsetMs: number): string {
  const seconds = Number((offsetMs / 1000).toFixed(3));
  return seconds < 0 ? `${seconds}` : `+${seconds}`;
}

async function readClockFile(state: ContainerState, file: string): Promise<string | null> {
  if (!state.State.Running) return null;
  try {
    const dir = await hostPathOf(state, posix.dirname(file));
    return (await readFile(posix.join(dir, posix.basename(file)), 'utf8')).trim();
  } catch {
    return null;
  }
}

/** Writes the timestamp file through the engine's archive API, which also works on a stopped container. */
async function writeClockFile(
  socketPath: string,
  state: ContainerState,
  file: string,
  text: string,
): Promise<void> {
  const container = engineClient(socketPath).getContainer(state.Id);
  const archive = singleFileTar(posix.basename(file), `${text}\n`);
  await engineCall(socketPath, `write ${file} in ${state.Id.slice(0, 12)}`, () =>
    container.putArchive(archive, { path: posix.dirname(file) }),
  );
}

/** Measures a container's clock against this host's with `node -e`, in ms; undefined without node. */
async function measureSkewMs(
  socketPath: string,
  state: ContainerState,
): Promise<number | undefined> {
  const beforeMs = Date.now();
  try {
    const result = await execInContainer(socketPath, state.Id, [
      'node',
      '-e',
      'process.stdout.write(String(Date.now()))',
    ]);
    const containerMs = Number(result.stdout.trim());
    return Number.isFinite(containerMs) ? containerMs - (beforeMs + Date.now()) / 2 : undefined;
  } catch (error) {
    if (isDockerFaultError(error, 'tool-missing')) return undefined;
    throw error;
  }
}

async function verifyContainer(
  run: HandlerRun<ClockParams>,
  state: ContainerState,
  index: number,
): Promise<{ ok: boolean; line: string }> {
  const file = run.params.clockFiles[index] ?? requireClockFile(state);
  const content = await readClockFile(state, file);
  const skewMs = state.State.Running ? await measureSkewMs(run.socketPath, state) : undefined;
  const fileOk = content === run.params.offsetText;
  if (skewMs === undefined) {
    return {
      ok: fileOk,
      line: `${describeContainer(state)}: ${file} holds ${content ?? 'nothing'} (no node in the image to read the clock)`,
    };
  }
  const ok = fileOk && Math.abs(skewMs - run.params.offsetMs) <= SKEW_TOLERANCE_MS;
  return {
    ok,
    line: `${describeContainer(state)}: clock ${Math.round(skewMs)} ms off the host (requested ${run.params.offsetMs} ms)`,
  };
}

/**
 * `time_skew`: writes the offset into the libfaketime timestamp file of each replica, which
 * its processes read again every FAKETIME_CACHE_DURATION seconds, so no restart is needed.
 * The container must preload libfaketime (see {@link SETUP_FIX}).
 */
export const clockHandler: FaultHandler<ClockParams> = {
  types: ['time_skew'],
  paramsSchema,
  mechanism: () => 'libfaketime timestamp file inside the container',
  requirements(_fault, containers) {
    const missing: MissingRequirement[] = containers
      .filter((state) => clockFileOf(state) === undefined)
      .map((state) => ({
        what: `libfaketime preload in ${describeContainer(state)}`,
        reason: 'the clock offset is read by libfaketime from a file',
        fix: SETUP_FIX,
      }));
    return Promise.resolve(missing);
  },
  async plan({ fault, containers }) {
    if (!isFaultOf(fault, 'time_skew')) throw new TypeError(`not a time_skew fault: ${fault.type}`);
    const clockFiles = containers.map(requireClockFile);
    const previous: (string | null)[] = [];
    for (const [index, state] of containers.entries())
      previous.push(await readClockFile(state, clockFiles[index] ?? ''));
    return {
      offsetMs: fault.offset,
      offsetText: faketimeOffset(fault.offset),
      clockFiles,
      previous,
    };
  },
  async apply(run) {
    await forEachContainer(run, async (state, index) => {
      const file = run.params.clockFiles[index] ?? requireClockFile(state);
      await writeClockFile(run.socketPath, state, file, run.params.offsetText);
      run.log('set %s in %s to %s', file, describeContainer(state), run.params.offsetText);
    });
  },
  async verify(run) {
    const lines: string[] = [];
    let skewed = 0;
    const found = await forEachContainer(run, async (state, index) => {
      const { ok, line } = await verifyContainer(run, state, index);
      if (ok) skewed += 1;
      lines.push(line);
    });
    return { manifested: found > 0 && skewed === found, detail: lines.join('; ') };
  },
  async rollback(run) {
    await forEachContainer(run, async (state, index) => {
      const file = run.params.clockFiles[index] ?? clockFileOf(state);
      if (file === undefined) return;
      const restored = run.params.previous[index] ?? NO_OFFSET;
      await writeClockFile(
        run.socketPath,
        state,
        file,
        restored === run.params.offsetText ? NO_OFFSET : restored,
      );
    });
  },
  async inspect(run) {
    let skewed = 0;
    await forEachContainer(run, async (state, index) => {
      const content = await readClockFile(state, run.params.clockFiles[index] ?? '');
      if (content === run.params.offsetText) skewed += 1;
    });
    return skewed > 0 ? 'active' : 'inactive';
  },
};
