import { spawn, type ChildProcess } from 'node:child_process';
import { createInterface } from 'node:readline';
import { createLogger } from '../harness/log.ts';

const log = createLogger('campaign');

/** A child process of the campaign that printed one JSON line when it was ready. */
export interface ReadyChild<T> {
  process: ChildProcess;
  pid: number;
  ready: T;
  /** Sends SIGTERM, then SIGKILL after `graceMs`; resolves when the process has exited. */
  stop(graceMs?: number): Promise<void>;
}

/**
 * Starts a TypeScript entry point with tsx and waits for the first JSON line on its standard
 * output. Fails with the process's last lines of standard error when it exits or times out first.
 */
export async function startReadyChild<T>(
  name: string,
  entry: string,
  args: string[],
  options: { cwd: string; timeoutMs: number; env?: NodeJS.ProcessEnv },
): Promise<ReadyChild<T>> {
  const child = spawn(process.execPath, ['--import', 'tsx', entry, ...args], {
    cwd: options.cwd,
    env: options.env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const errorLines: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => {
    log('%s: %s', name, line);
    errorLines.push(line);
    if (errorLines.length > 20) errorLines.shift();
  });
  const ready = await new Promise<T>((resolve, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`${name} was not ready after ${options.timeoutMs} ms.\n${errorLines.join('\n')}`),
      );
    }, options.timeoutMs);
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      clearTimeout(timer);
      try {
        resolve(JSON.parse(line) as T);
      } catch (error) {
        reject(new Error(`${name} printed an invalid ready line: ${line}`, { cause: error }));
      }
    });
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new Error(
          `${name} exited before it was ready (code ${code}, signal ${signal}).\n${errorLines.join('\n')}`,
        ),
      );
    });
  });
  return { process: child, pid: child.pid!, ready, stop: (graceMs) => stopChild(child, graceMs) };
}

/** Sends SIGTERM to a child, then SIGKILL after `graceMs`; resolves once it has exited. */
export function stopChild(child: ChildProcess, graceMs = 5_000): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
    child.once('exit', () => {
      clearTimeout(timer);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
