import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { createLogger } from './log.ts';

const log = createLogger('journal');

const CLI = fileURLToPath(new URL('../../bin/vitest-chaos.mjs', import.meta.url));

/**
 * Installs SIGINT and SIGTERM handlers in the Vitest main process (call it from globalSetup)
 * that roll back every journal entry of the run before the process exits. Vitest exits a
 * millisecond after such a signal and skips globalSetup teardown, so the handler runs
 * `vitest-chaos cleanup` synchronously in a child process, bounded by `timeoutMs` (default
 * 20000). Workers roll back their own faults too; rollback is idempotent. Returns a function
 * that removes the handlers.
 */
export function installSignalCleanup(options: {
  journalDir: string;
  runId: string;
  driverModules?: string[];
  timeoutMs?: number;
}): () => void {
  const handler = (signal: NodeJS.Signals) => {
    log('%s received: rolling back the faults of run %s', signal, options.runId);
    const modules = (options.driverModules ?? []).flatMap((module) => ['--driver-module', module]);
    const result = spawnSync(
      process.execPath,
      [CLI, 'cleanup', '--journal', options.journalDir, '--run', options.runId, ...modules],
      {
        stdio: ['ignore', 'inherit', 'inherit'],
        timeout: options.timeoutMs ?? 20_000,
      },
    );
    log(
      'cleanup after %s exited with %s',
      signal,
      result.status ?? result.signal ?? result.error?.message,
    );
    process.exitCode = signal === 'SIGINT' ? 130 : 143;
    // Vitest exits by itself after a signal; elsewhere this handler would keep the process alive.
    if (process.listenerCount(signal) === 1) process.exit();
  };
  process.on('SIGINT', handler);
  process.on('SIGTERM', handler);
  return () => {
    process.off('SIGINT', handler);
    process.off('SIGTERM', handler);
  };
}
