import { spawn, type ChildProcess } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { createServer } from 'node:net';
import path from 'node:path';
import { createLogger } from '../../log.ts';
import { RequirementError } from '../../errors.ts';
import { NetworkFaultError } from './errors.ts';

const log = createLogger('toxiproxy');

/** The command that installs the Toxiproxy server on a fresh machine. */
export const TOXIPROXY_INSTALL_COMMAND = 'bash scripts/install-toxiproxy.sh';

const READY_TIMEOUT_MS = 10_000;
const STOP_GRACE_MS = 2_000;
const START_ATTEMPTS = 3;

/** Options of {@link startToxiproxyServer}. */
export interface ToxiproxyServerOptions {
  /** Path of the `toxiproxy-server` binary; default: the first one on `PATH`. */
  binary?: string;
  /** API port on 127.0.0.1; default 0, a free port. */
  port?: number;
  /** Seed of Toxiproxy's random choices (toxicity), so a run can be replayed; default random. */
  seed?: number;
}

/** A Toxiproxy server started by this process. */
export interface RunningToxiproxyServer {
  /** API base URL, `http://127.0.0.1:<port>`. */
  url: string;
  port: number;
  pid: number;
  /** Stops the server (SIGTERM, then SIGKILL after 2 s). Idempotent. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts `toxiproxy-server` on 127.0.0.1 and waits until `GET /version` responds.
 * Throws a `RequirementError` (code `REQUIREMENT_MISSING`) with the install command when the
 * binary is missing, and a `NetworkFaultError` when the server does not start.
 */
export async function startToxiproxyServer(
  options: ToxiproxyServerOptions = {},
): Promise<RunningToxiproxyServer> {
  const binary = options.binary ?? (await findOnPath('toxiproxy-server'));
  await assertExecutable(binary);
  let lastError: unknown;
  // A free port found by binding port 0 can be taken by another process before the server binds
  // it, so a failed start on a port we picked is retried on a new one.
  const attempts = options.port ? 1 : START_ATTEMPTS;
  for (let attempt = 1; attempt <= attempts; attempt++) {
    const port = options.port || (await findFreePort());
    try {
      return await launch(binary, port, options.seed);
    } catch (error) {
      lastError = error;
      log('start on port %d failed (attempt %d): %s', port, attempt, String(error));
    }
  }
  throw lastError;
}

async function launch(
  binary: string,
  port: number,
  seed: number | undefined,
): Promise<RunningToxiproxyServer> {
  const url = `http://127.0.0.1:${port}`;
  log('starting %s on %s', binary, url);
  const args = ['-host', '127.0.0.1', '-port', String(port)];
  if (seed !== undefined) args.push('-seed', String(seed));
  const child = spawn(binary, args, {
    stdio: ['ignore', 'ignore', 'pipe'],
  });

  // Keep the last 20 stderr lines for the error message of a failed start.
  const stderrLines: string[] = [];
  child.stderr?.setEncoding('utf8').on('data', (chunk: string) => {
    stderrLines.push(...chunk.split('\n').filter(Boolean));
    stderrLines.splice(0, Math.max(0, stderrLines.length - 20));
  });
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  const killOnExit = () => child.kill('SIGKILL');
  process.once('exit', killOnExit);

  try {
    await waitUntilReady(url, exited, child);
  } catch (error) {
    process.off('exit', killOnExit);
    child.kill('SIGKILL');
    throw new NetworkFaultError(
      'toxiproxy-start-failed',
      `toxiproxy-server (${binary}) did not become ready on ${url}: ${String(error)}. ` +
        `Last lines of its stderr: ${stderrLines.join(' | ') || '(none)'}.`,
      { cause: error, value: binary, driver: 'toxiproxy' },
    );
  }

  const pid = child.pid ?? 0;
  log('started toxiproxy-server pid %d on %s', pid, url);
  const stop = () => stopChild(child, exited, killOnExit);
  return { url, port, pid, stop, [Symbol.asyncDispose]: stop };
}

async function waitUntilReady(
  url: string,
  exited: Promise<number | null>,
  child: ChildProcess,
): Promise<void> {
  const deadline = Date.now() + READY_TIMEOUT_MS;
  let exitCode: number | string | null | undefined;
  void exited.then((code) => {
    exitCode = code ?? child.signalCode;
  });
  while (Date.now() < deadline) {
    if (exitCode !== undefined) throw new Error(`the process exited early (${String(exitCode)})`);
    try {
      const response = await fetch(`${url}/version`, { signal: AbortSignal.timeout(500) });
      if (response.ok) return;
    } catch {
      // Not listening yet.
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  throw new Error(`GET /version timed out: no response within ${READY_TIMEOUT_MS} ms`);
}

async function stopChild(
  child: ChildProcess,
  exited: Promise<number | null>,
  killOnExit: () => void,
): Promise<void> {
  process.off('exit', killOnExit);
  if (child.exitCode !== null || child.signalCode !== null) return;
  log('stopping toxiproxy-server pid %d', child.pid);
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), STOP_GRACE_MS);
  await exited;
  clearTimeout(timer);
}

async function findOnPath(name: string): Promise<string> {
  for (const folder of (process.env.PATH ?? '').split(path.delimiter)) {
    if (!folder) continue;
    const candidate = path.join(folder, name);
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this folder.
    }
  }
  throw new RequirementError('The Toxiproxy server', [
    {
      what: name,
      reason: `not found on PATH (${process.env.PATH ?? ''})`,
      fix: `run \`${TOXIPROXY_INSTALL_COMMAND}\` or pass the binary's path as \`binary\``,
    },
  ]);
}

async function assertExecutable(binary: string): Promise<void> {
  try {
    await access(binary, constants.X_OK);
  } catch (error) {
    const missing = {
      what: 'toxiproxy-server',
      reason: `"${binary}" is missing or not executable`,
      fix: `run \`${TOXIPROXY_INSTALL_COMMAND}\``,
    };
    throw new RequirementError('The Toxiproxy server', [missing], { cause: error });
  }
}

/** Returns a TCP port that was free on 127.0.0.1 a moment ago. */
export async function findFreePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') {
    throw new Error('Could not read the port of a listener bound to 127.0.0.1:0.');
  }
  return address.port;
}
