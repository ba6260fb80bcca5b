import { accessSync, constants, existsSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import type { MissingRequirement } from '../../faults/driver.ts';

/** Where Debian's libfaketime package puts the library. */
export const FAKETIME_LIBRARY = '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1';

/** Finds an executable on PATH; `undefined` when missing. */
export function findExecutable(name: string): string | undefined {
  for (const dir of (process.env.PATH ?? '').split(delimiter)) {
    const candidate = join(dir, name);
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // Not in this folder.
    }
  }
  return undefined;
}

export function requireRoot(reason: string): MissingRequirement[] {
  if (process.getuid?.() === 0) return [];
  return [{ what: 'root', reason, fix: 'run the experiment as root (for example with sudo)' }];
}

export function requireTool(
  name: string,
  reason: string,
  aptPackage: string,
): MissingRequirement[] {
  if (findExecutable(name)) return [];
  return [{ what: name, reason, fix: `apt-get install -y ${aptPackage}` }];
}

export function requireCgroupV1(controller: string, reason: string): MissingRequirement[] {
  if (existsSync(`/sys/fs/cgroup/${controller}/cgroup.procs`)) return [];
  return [
    {
      what: `cgroup v1 ${controller} controller`,
      reason,
      fix: `mount it: mkdir -p /sys/fs/cgroup/${controller} && mount -t cgroup -o ${controller} cgroup /sys/fs/cgroup/${controller}`,
    },
  ];
}

export function requireFaketime(reason: string): MissingRequirement[] {
  if (existsSync(FAKETIME_LIBRARY)) return [];
  return [{ what: 'libfaketime', reason, fix: 'apt-get install -y faketime libfaketime' }];
}
