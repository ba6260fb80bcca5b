import { PassThrough } from 'node:stream';
import Docker from 'dockerode';
import { z } from 'zod';
import { formatValue } from '../../errors.ts';
import { DockerFaultError } from './errors.ts';

/** Default socket of a local Docker engine. */
export const DEFAULT_SOCKET_PATH = '/var/run/docker.sock';

/** Returns the engine socket: `DOCKER_HOST` when it names a unix socket, else the default path. */
export function defaultSocketPath(env: NodeJS.ProcessEnv = process.env): string {
  const host = env.DOCKER_HOST;
  if (host?.startsWith('unix://')) return host.slice('unix://'.length);
  return DEFAULT_SOCKET_PATH;
}

const clients = new Map<string, Docker>();

/** Returns a client for the engine on this unix socket, one per socket for the process. */
export function engineClient(socketPath: string): Docker {
  let client = clients.get(socketPath);
  if (!client) {
    client = new Docker({ socketPath });
    clients.set(socketPath, client);
  }
  return client;
}

interface EngineFailure {
  code?: string;
  statusCode?: number;
  json?: { message?: string } | null;
  message?: string;
}

/** Returns the HTTP status of a failed engine request, or undefined for a connection failure. */
export function engineStatus(error: unknown): number | undefined {
  return (error as EngineFailure | null)?.statusCode;
}

/**
 * Runs one engine request and turns its failure into a {@link DockerFaultError}: a missing or
 * refused socket, a socket this user may not open, or the engine's own error message.
 */
export async function engineCall<T>(
  socketPath: string,
  request: string,
  call: () => Promise<T>,
): Promise<T> {
  try {
    return await call();
  } catch (error) {
    if (error instanceof DockerFaultError) throw error;
    throw toEngineError(socketPath, request, error);
  }
}

function toEngineError(socketPath: string, request: string, error: unknown): DockerFaultError {
  const failure = (error ?? {}) as EngineFailure;
  if (failure.code === 'ENOENT' || failure.code === 'ECONNREFUSED') {
    return new DockerFaultError(
      'engine-unreachable',
      `Docker engine not reachable at ${socketPath} (${request}).`,
      {
        value: socketPath,
        fix: 'Start it with "sudo scripts/docker-setup.sh", or set DOCKER_HOST=unix:///path/to/docker.sock.',
        cause: error,
      },
    );
  }
  if (failure.code === 'EACCES' || failure.code === 'EPERM') {
    return new DockerFaultError(
      'socket-permission',
      `Permission denied on the Docker socket ${socketPath} (${request}).`,
      {
        value: socketPath,
        fix: 'Run as root or as a member of the socket\'s group (usually "docker").',
        cause: error,
      },
    );
  }
  const detail = failure.json?.message ?? failure.message ?? String(error);
  return new DockerFaultError(
    'engine-request-failed',
    `Docker engine request failed: ${request}: ${detail}`,
    {
      value: failure.statusCode,
      cause: error,
    },
  );
}

/** The part of `docker inspect` the driver reads, parsed once at the edge. */
export const containerStateSchema = z.object({
  Id: z.string(),
  Name: z.string().transform((name) => name.replace(/^\//, '')),
  RestartCount: z.number().int().default(0),
  State: z.object({
    Status: z.string(),
    Running: z.boolean(),
    Paused: z.boolean(),
    Restarting: z.boolean(),
    Pid: z.number().int(),
    StartedAt: z.string(),
  }),
  Config: z.object({
    Image: z.string().default(''),
    Env: z
      .array(z.string())
      .nullish()
      .transform((env) => env ?? []),
    Labels: z
      .record(z.string(), z.string())
      .nullish()
      .transform((labels) => labels ?? {}),
    ExposedPorts: z.record(z.string(), z.unknown()).nullish(),
  }),
  HostConfig: z.object({
    NetworkMode: z.string().default(''),
    RestartPolicy: z
      .object({ Name: z.string().default(''), MaximumRetryCount: z.number().default(0) })
      .nullish(),
    Memory: z.number().default(0),
    NanoCpus: z.number().default(0),
    CpuQuota: z.number().default(0),
    CpuPeriod: z.number().default(0),
    Tmpfs: z.record(z.string(), z.string()).nullish(),
  }),
  Mounts: z
    .array(
      z.object({
        Type: z.string(),
        Source: z.string().default(''),
        Destination: z.string(),
      }),
    )
    .nullish()
    .transform((mounts) => mounts ?? []),
});
export type ContainerState = z.infer<typeof containerStateSchema>;

/** Inspects a container; returns undefined when no container has this id or name. */
export async function inspectContainer(
  socketPath: string,
  idOrName: string,
): Promise<ContainerState | undefined> {
  const docker = engineClient(socketPath);
  try {
    const raw: unknown = await docker.getContainer(idOrName).inspect();
    return containerStateSchema.parse(raw);
  } catch (error) {
    if (engineStatus(error) === 404) return undefined;
    throw toEngineError(socketPath, `inspect container ${idOrName}`, error);
  }
}

/** Reads one variable of a container's environment; the last entry wins, as in the container. */
export function containerEnv(state: ContainerState, name: string): string | undefined {
  const entry = state.Config.Env.findLast((item) => item.startsWith(`${name}=`));
  return entry?.slice(name.length + 1);
}

/** The outcome of a command run inside a container. */
export interface ExecResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** Exit codes of a command that could not start: not executable (126) or not found (127). */
const NOT_STARTED_EXIT_CODES = new Set([126, 127]);

/**
 * Runs a command inside a running container and waits for it to end. Throws a
 * `tool-missing` error when the program is not in the image.
 */
export async function execInContainer(
  socketPath: string,
  containerId: string,
  command: string[],
  options: { env?: string[] } = {},
): Promise<ExecResult> {
  const docker = engineClient(socketPath);
  const action = `exec ${command.join(' ')} in ${containerId.slice(0, 12)}`;
  return engineCall(socketPath, action, async () => {
    const exec = await docker.getContainer(containerId).exec({
      Cmd: command,
      Env: options.env,
      AttachStdout: true,
      AttachStderr: true,
    });
    const stream = await exec.start({ hijack: true, stdin: false });
    const stdout = collect();
    const stderr = collect();
    docker.modem.demuxStream(stream, stdout.stream, stderr.stream);
    await new Promise<void>((resolve, reject) => {
      stream.once('end', resolve);
      stream.once('close', resolve);
      stream.once('error', reject);
    });
    const info = await exec.inspect();
    const result = { exitCode: info.ExitCode ?? -1, stdout: stdout.text(), stderr: stderr.text() };
    if (NOT_STARTED_EXIT_CODES.has(result.exitCode))
      throw toolMissing(command, containerId, result);
    return result;
  });
}

/**
 * Starts a command inside a running container without waiting for it to end, then checks that
 * it runs. Throws a `tool-missing` error when the program is not in the image.
 */
export async function startInContainer(
  socketPath: string,
  containerId: string,
  command: string[],
  options: { env?: string[] } = {},
): Promise<void> {
  const docker = engineClient(socketPath);
  const action = `exec ${command.join(' ')} in ${containerId.slice(0, 12)}`;
  const exec = await engineCall(socketPath, action, () =>
    docker.getContainer(containerId).exec({ Cmd: command, Env: options.env }),
  );
  let startError: unknown;
  // The engine rejects the start with HTTP 400 when the program is not found.
  await engineCall(socketPath, action, () => exec.start({ Detach: true }))
    // The engine responds to a detached start with an empty stream. Left open, its socket would
    // keep this process alive.
    .then((stream) => stream.destroy())
    .catch((error: unknown) => {
      startError = error;
    });
  for (let attempt = 0; attempt < STARTED_CHECKS; attempt += 1) {
    const info = await engineCall(socketPath, action, () => exec.inspect());
    if (info.Running) return;
    const exitCode = info.ExitCode;
    if (exitCode !== null && exitCode !== undefined) {
      if (NOT_STARTED_EXIT_CODES.has(exitCode)) {
        const output = startError instanceof Error ? startError.message : '';
        throw toolMissing(command, containerId, { exitCode, stdout: output, stderr: '' });
      }
      throw new DockerFaultError(
        'engine-request-failed',
        `${action} ended at once with exit code ${exitCode}.`,
        {
          value: command,
          fix: 'Run the same command with "docker exec" to see its output.',
          cause: startError,
        },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  if (startError) throw startError;
  throw new DockerFaultError(
    'timed-out',
    `${action} did not start within ${STARTED_CHECKS * 25} ms.`,
    {
      value: command,
    },
  );
}

/** How many times startInContainer checks, 25 ms apart, that the command runs. */
const STARTED_CHECKS = 40;

function toolMissing(command: string[], containerId: string, result: ExecResult): DockerFaultError {
  const program = command[0] ?? '';
  return new DockerFaultError(
    'tool-missing',
    `${program} could not run inside container ${containerId.slice(0, 12)} (exit code ${result.exitCode}): ${formatValue(result.stdout + result.stderr, 200)}`,
    {
      value: program,
      fix: `Add ${program} and its libraries to the image (scripts/docker-build-image.sh builds one with node and stress-ng).`,
    },
  );
}

function collect(): { stream: PassThrough; text: () => string } {
  const stream = new PassThrough();
  const chunks: Buffer[] = [];
  stream.on('data', (chunk: Buffer) => chunks.push(chunk));
  return { stream, text: () => Buffer.concat(chunks).toString('utf8') };
}
