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
export function runCommand(command: string, args: string[]): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { timeout: COMMAND_TIMEOUT_MS }, (error, stdout, stderr) => {
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
    });
  });
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
