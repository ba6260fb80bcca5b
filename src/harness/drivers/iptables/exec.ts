import { execFile } from 'node:child_process';
import { NetworkFaultError } from '../toxiproxy/errors.ts';

/** Timeout of one iptables or nft command, in milliseconds. */
const COMMAND_TIMEOUT_MS = 10_000;

/** The result of a command that ran to completion, whatever its exit code. */
export interface CommandResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command without a shell and returns its exit code and output. Rejects only when the
 * command cannot be started or times out.
 */
export function runCommand(
  command: string,
  args: string[],
  input?: string,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    const child = execFile(
      command,
      args,
      { timeout: COMMAND_TIMEOUT_MS },
      (error, stdout, stderr) => {
        if (error && typeof error.code !== 'number') {
          reject(
            new NetworkFaultError(
              'iptables-failed',
              `Could not run ${command} ${args.join(' ')}: ${error.message}.`,
              {
                driver: 'iptables',
                cause: error,
                value: command,
                fix: `Install it (apt-get install -y iptables nftables) and run as root.`,
              },
            ),
          );
          return;
        }
        const exitCode = error && typeof error.code === 'number' ? error.code : 0;
        resolve({ exitCode, stdout, stderr });
      },
    );
    // A command that exits without reading stdin makes the write fail with EPIPE; its exit code
    // already reports the outcome.
    child.stdin?.on('error', () => undefined);
    if (input === undefined) child.stdin?.end();
    else child.stdin?.end(input);
  });
}

/**
 * Applies rule changes to the filter table in one `iptables-restore --noflush` call, so they
 * take effect together and cost one process. Returns the result; the caller decides on failure.
 */
export function restoreFilterRules(lines: string[]): Promise<CommandResult> {
  const input = ['*filter', ...lines, 'COMMIT', ''].join('\n');
  return runCommand('iptables-restore', ['-w', '--noflush'], input);
}

/** Quotes one argument for an iptables-restore line when it contains spaces or quotes. */
export function restoreLine(args: string[]): string {
  return args
    .map((arg) => (/^[A-Za-z0-9_.:/=,+-]+$/.test(arg) ? arg : JSON.stringify(arg)))
    .join(' ');
}

/** Runs `iptables -w <args>` and throws a `NetworkFaultError` with the command and stderr on failure. */
export async function iptables(args: string[]): Promise<string> {
  const result = await runCommand('iptables', ['-w', ...args]);
  if (result.exitCode !== 0) {
    throw new NetworkFaultError(
      'iptables-failed',
      `iptables ${args.join(' ')} failed with exit code ${result.exitCode}: ${result.stderr.trim()}.`,
      {
        driver: 'iptables',
        value: args,
        fix: 'Run as root; see the stderr above for the rule it rejected.',
      },
    );
  }
  return result.stdout;
}

/**
 * Returns `iptables-save` output without comment lines and packet counters, so two snapshots of
 * unchanged rules compare equal.
 */
export async function iptablesSnapshot(): Promise<string> {
  const result = await runCommand('iptables-save', []);
  if (result.exitCode !== 0) {
    throw new NetworkFaultError(
      'iptables-failed',
      `iptables-save failed: ${result.stderr.trim()}.`,
      {
        driver: 'iptables',
      },
    );
  }
  return result.stdout
    .split('\n')
    .filter((line) => !line.startsWith('#'))
    .map((line) => line.replace(/\[\d+:\d+\]/g, '[0:0]'))
    .join('\n');
}
