import { execFile, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createServer } from 'node:net';
import { promisify } from 'node:util';
import Docker from 'dockerode';
import type { DriverContext } from '../../src/harness/faults/driver.ts';
import { faultSchema, type FaultInput, type Fault } from '../../src/harness/faults/spec.ts';
import type { StackInfo } from '../../src/harness/stack-info.ts';

const execFileAsync = promisify(execFile);

export const IMAGE = 'vitest-chaos/node:local';
export const SOCKET_PATH = '/var/run/docker.sock';
export const FAKETIME_DIR = '/usr/lib/x86_64-linux-gnu/faketime';
/** Label on every container of one test run, so cleanup removes exactly those. */
export const RUN_LABEL = 'vitest-chaos.test-run';

export const docker = new Docker({ socketPath: SOCKET_PATH });

/** Unique per test file run: names containers, the Compose project and chains. */
export const runId = `${process.pid}${randomBytes(3).toString('hex')}`;
export const project = `vctest${runId}`;

async function enginePings(): Promise<boolean> {
  try {
    await docker.ping();
    return true;
  } catch {
    return false;
  }
}

/**
 * Makes sure the engine runs (with scripts/docker-setup.sh when it does not) and the image is
 * built. Returns why the tests must be skipped, or undefined when they can run.
 */
export async function prepareEngine(): Promise<string | undefined> {
  if (!(await enginePings())) {
    if (process.getuid?.() !== 0) return 'dockerd is not running and starting it needs root';
    const setup = spawnSync('bash', ['scripts/docker-setup.sh'], { encoding: 'utf8' });
    if (setup.status !== 0 || !(await enginePings())) {
      return `dockerd could not be started: ${setup.stderr.trim() || setup.stdout.trim()}`;
    }
  }
  const build = spawnSync('bash', ['scripts/docker-build-image.sh', IMAGE], { encoding: 'utf8' });
  if (build.status !== 0) throw new Error(`building ${IMAGE} failed: ${build.stderr}`);
  return undefined;
}

/** Lists the engine's bridge networks; the setup allows none. */
export async function bridgeNetworks(): Promise<string[]> {
  const networks = await docker.listNetworks({ filters: { driver: ['bridge'] } });
  return networks.map((network) => network.Name);
}

/** Returns a TCP port free on 127.0.0.1 at the time of the call. */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** A tiny HTTP service that returns its clock and pid, run by `node -e` inside the image. */
const SERVICE_CODE = [
  "const http = require('http');",
  'http.createServer((request, response) => response.end(JSON.stringify({ nowMs: Date.now(), pid: process.pid })))',
  "  .listen(Number(process.env.PORT), '127.0.0.1');",
].join('\n');

export interface TestContainerOptions {
  service: string;
  number?: number;
  network?: 'host' | 'none';
  port?: number;
  restart?: 'always' | 'no';
  memoryBytes?: number;
  nanoCpus?: number;
  tmpfs?: Record<string, string>;
  faketime?: boolean;
  /** Extra environment entries, `NAME=value`. */
  env?: string[];
  binds?: string[];
}

/** Creates and starts a container labelled like a Compose replica of `service`. */
export async function startTestContainer(options: TestContainerOptions): Promise<Docker.Container> {
  const number = options.number ?? 1;
  const env = [`PORT=${options.port ?? 0}`];
  const binds = [...(options.binds ?? [])];
  if (options.faketime) {
    binds.push(`${FAKETIME_DIR}:/opt/faketime:ro`);
    env.push(
      'LD_PRELOAD=/opt/faketime/libfaketime.so.1',
      'FAKETIME_TIMESTAMP_FILE=/tmp/faketime',
      'FAKETIME_DONT_FAKE_MONOTONIC=1',
      'FAKETIME_CACHE_DURATION=1',
    );
  }
  // The engine keeps the last entry of a repeated variable, so these override the defaults.
  env.push(...(options.env ?? []));
  const container = await docker.createContainer({
    name: `${project}-${options.service}-${number}`,
    Image: IMAGE,
    Cmd: ['-e', SERVICE_CODE],
    Env: env,
    Labels: {
      [RUN_LABEL]: runId,
      'com.docker.compose.project': project,
      'com.docker.compose.service': options.service,
      'com.docker.compose.container-number': String(number),
      ...(options.port ? { 'vitest-chaos.port': String(options.port) } : {}),
    },
    HostConfig: {
      NetworkMode: options.network ?? 'none',
      RestartPolicy: { Name: options.restart ?? 'always' },
      Memory: options.memoryBytes,
      NanoCpus: options.nanoCpus,
      Tmpfs: options.tmpfs,
      Binds: binds,
    },
  });
  await container.start();
  return container;
}

/** Removes every container of this test run, with its anonymous volumes. */
export async function removeTestContainers(): Promise<void> {
  const listed = await docker.listContainers({
    all: true,
    filters: { label: [`${RUN_LABEL}=${runId}`] },
  });
  await Promise.all(
    listed.map((entry) => docker.getContainer(entry.Id).remove({ force: true, v: true })),
  );
}

/** Returns a minimal Docker stack description for the driver. */
export function testStack(): StackInfo {
  return {
    kind: 'docker',
    services: [],
    edges: [],
    topology: {},
    probeUrl: 'http://127.0.0.1:1/',
    composeProject: project,
  };
}

export function context(experimentKey = `test-${runId}`): DriverContext {
  return { stack: testStack(), experimentKey };
}

/** Parses a fault as a catalog entry would be parsed. */
export function fault(input: FaultInput): Fault {
  return faultSchema.parse(input);
}

export async function inspect(container: Docker.Container): Promise<Docker.ContainerInspectInfo> {
  return container.inspect();
}

/** Calls the HTTP service on 127.0.0.1:port; returns its body or the error code. */
export async function callService(
  port: number,
  timeoutMs = 1_000,
): Promise<{ nowMs: number; pid: number } | string> {
  try {
    const response = await fetch(`http://127.0.0.1:${port}/`, {
      signal: AbortSignal.timeout(timeoutMs),
    });
    return (await response.json()) as { nowMs: number; pid: number };
  } catch (error) {
    const cause = (error as Error & { cause?: { code?: string } }).cause;
    return cause?.code ?? (error as Error).name;
  }
}

/** Runs a command on the host and returns its stdout. */
export async function run(command: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(command, args, { timeout: 30_000 });
  return stdout;
}

/** Waits until `check` returns true, polling every 50 ms, or fails after `timeoutMs`. */
export async function waitFor(
  check: () => Promise<boolean> | boolean,
  timeoutMs: number,
  description: string,
): Promise<void> {
  const startedAtMs = Date.now();
  while (!(await check())) {
    if (Date.now() - startedAtMs > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${description}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
