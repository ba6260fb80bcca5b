import { createLogger } from '../../log.ts';
import { iptables, runCommand } from './exec.ts';

const log = createLogger('iptables');

/** Lines of `iptables-save -t filter` for a filter table with no rules and ACCEPT policies. */
const EMPTY_FILTER_LINE = /^(\*filter|:(INPUT|FORWARD|OUTPUT) ACCEPT( \[\d+:\d+\])?|COMMIT|#.*|)$/;

async function usesNftBackend(): Promise<boolean> {
  const version = await runCommand('iptables', ['--version']);
  return version.stdout.includes('nf_tables');
}

/**
 * Tells whether the nftables table `ip filter` exists. With the legacy backend the table always
 * exists, so this returns true.
 */
export async function nftFilterTableExists(): Promise<boolean> {
  if (!(await usesNftBackend())) return true;
  const result = await runCommand('nft', ['list', 'table', 'ip', 'filter']).catch(() => undefined);
  // Without the nft command the table cannot be removed later anyway.
  if (!result) return true;
  return result.exitCode === 0;
}

/**
 * Deletes the nftables table `ip filter` when it contains no rule, no chain of its own and only
 * ACCEPT policies, which is how iptables-nft leaves it after the fault's chain is gone. The
 * host's `iptables-save` output is then what it was before the fault. Call it only with the nft
 * backend: a plan records `filterTableExisted: true` for the legacy one.
 */
export async function removeEmptyFilterTable(): Promise<void> {
  const saved = await runCommand('iptables-save', ['-t', 'filter']);
  const empty = saved.stdout.split('\n').every((line) => EMPTY_FILTER_LINE.test(line));
  if (!empty) return;
  // NOTE: iptables-nft takes no lock, so a tool that adds its first rule between the check above
  // and this delete loses it; the window is one process start (a few ms).
  // NOTE: when two faults overlap, the first rollback finds the other's chain and keeps the
  // table, and the second (which found the table) keeps it too, so an empty table may remain.
  const result = await runCommand('nft', ['delete', 'table', 'ip', 'filter']).catch(
    () => undefined,
  );
  log(
    'removed the empty filter table this fault created: %s',
    result?.exitCode === 0 ? 'done' : 'failed',
  );
}

/** Packets that reached a fault's chain and packets its statistic rule dropped, from kernel counters. */
export async function readChainCounters(
  chain: string,
): Promise<{ seenPackets: number; droppedPackets: number }> {
  const output = await iptables(['-L', chain, '-v', '-x', '-n']);
  // Rows after the two header lines: counting rule, then the DROP rule; the first column is packets.
  const rows = output
    .split('\n')
    .slice(2)
    .filter((line) => line.trim().length > 0);
  const packets = rows.map((row) => Number(row.trim().split(/\s+/)[0]));
  return { seenPackets: packets[0] ?? 0, droppedPackets: packets[1] ?? 0 };
}
