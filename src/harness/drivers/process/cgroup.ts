import { existsSync, mkdirSync, readFileSync, rmdirSync, writeFileSync } from 'node:fs';
import { waitFor } from './proc.ts';

/** Mount point of the cgroup v1 hierarchies. */
export const CGROUP_V1_ROOT = '/sys/fs/cgroup';

/** Lists the pids in a cgroup; empty when it does not exist. */
export function cgroupPids(path: string): number[] {
  try {
    return readFileSync(`${path}/cgroup.procs`, 'utf8').split('\n').filter(Boolean).map(Number);
  } catch {
    return [];
  }
}

export function makeCgroup(path: string, settings: Record<string, string>): void {
  mkdirSync(path, { recursive: true });
  for (const [file, value] of Object.entries(settings)) writeFileSync(`${path}/${file}`, value);
}

/** Moves a process into a cgroup; returns false when it has exited. */
export function moveToCgroup(path: string, pid: number): boolean {
  try {
    writeFileSync(`${path}/cgroup.procs`, String(pid));
    return true;
  } catch {
    return false;
  }
}

/** Removes a cgroup once its tasks have left; idempotent. Throws when tasks stay past the wait. */
export async function removeCgroup(path: string, timeoutMs = 5_000): Promise<void> {
  if (!existsSync(path)) return;
  await waitFor(() => cgroupPids(path).length === 0, timeoutMs);
  try {
    rmdirSync(path);
  } catch (error) {
    if (existsSync(path)) throw error;
  }
}
