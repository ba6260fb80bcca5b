import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

const VITEST = fileURLToPath(new URL('../../../node_modules/vitest/vitest.mjs', import.meta.url));
const ROOT = fileURLToPath(new URL('../../..', import.meta.url));

export interface VitestChild {
  child: ChildProcess;
  pid: number;
  /** Resolves when the process exits, with its code or signal and its whole output. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null; output: string }>;
}

/**
 * Runs `vitest run` with a config in a child process of its own process group, so a test can
 * signal Vitest alone (its pid) or Vitest and its workers (the group).
 */
export function runVitest(config: string, env: Record<string, string>): VitestChild {
  const child = spawn(process.execPath, [VITEST, 'run', '--config', config], {
    cwd: ROOT,
    env: { ...process.env, ...env, FORCE_COLOR: '0', CI: '1' },
    detached: true,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const exited = new Promise<{
    code: number | null;
    signal: NodeJS.Signals | null;
    output: string;
  }>((resolve) => {
    child.once('exit', (code, signal) => {
      // Give the pipes a moment to drain the last lines.
      setTimeout(() => resolve({ code, signal, output }), 50);
    });
  });
  if (child.pid === undefined) throw new Error('vitest did not start');
  return { child, pid: child.pid, exited };
}

/** Polls `predicate` every 50 ms until it returns true; throws after `timeoutMs`. */
export async function waitFor(
  predicate: () => boolean,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const deadlineMs = Date.now() + timeoutMs;
  while (!predicate()) {
    if (Date.now() > deadlineMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
