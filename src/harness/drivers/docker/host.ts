import { execFile } from 'node:child_process';
import { lstat, readFile } from 'node:fs/promises';
import { posix } from 'node:path';
import { promisify } from 'node:util';
import type { ContainerState } from './engine.ts';
import { DockerFaultError } from './errors.ts';

// The driver reaches into containers from the host through /proc and the cgroup files, so it
// must run on the engine's host, with root.

const execFileAsync = promisify(execFile);
const CGROUP_ROOT = '/sys/fs/cgroup';

/** Finds the folder of a process's cgroup for a v1 controller, or its v2 cgroup. */
export async function cgroupDir(pid: number, controller: string): Promise<string> {
  const text = await readFile(`/proc/${pid}/cgroup`, 'utf8');
  let unified: string | undefined;
  for (const line of text.trim().split('\n')) {
    const [, controllers = '', path = ''] = line.split(':');
    if (controllers.split(',').includes(controller)) return `${CGROUP_ROOT}/${controller}${path}`;
    if (controllers === '') unified = `${CGROUP_ROOT}${path}`;
  }
  if (unified !== undefined) return unified;
  throw new DockerFaultError(
    'host-command-failed',
    `No ${controller} cgroup found for pid ${pid}.`,
    {
      value: pid,
      fix: 'Run the driver on the Docker host, where /proc shows the container processes.',
    },
  );
}

async function readKeyed(file: string): Promise<Map<string, number>> {
  const values = new Map<string, number>();
  for (const line of (await readFile(file, 'utf8')).split('\n')) {
    const [key, value] = line.split(' ');
    if (key && value) values.set(key, Number(value));
  }
  return values;
}

/** Reads the CPU time used by a process's cgroup, in nanoseconds (cgroup v1 or v2). */
export async function readCpuUsageNs(pid: number): Promise<number> {
  const dir = await cgroupDir(pid, 'cpuacct');
  try {
    return Number(await readFile(`${dir}/cpuacct.usage`, 'utf8'));
  } catch {
    const stat = await readKeyed(`${dir}/cpu.stat`);
    return (stat.get('usage_usec') ?? 0) * 1000;
  }
}

/**
 * Reads the memory used by a process's cgroup in bytes, without the inactive page cache the
 * kernel can drop (the way `docker stats` counts it).
 */
export async function readMemoryUsageBytes(pid: number): Promise<number> {
  const dir = await cgroupDir(pid, 'memory');
  try {
    const usage = Number(await readFile(`${dir}/memory.usage_in_bytes`, 'utf8'));
    const stat = await readKeyed(`${dir}/memory.stat`);
    return usage - (stat.get('total_inactive_file') ?? 0);
  } catch {
    const usage = Number(await readFile(`${dir}/memory.current`, 'utf8'));
    const stat = await readKeyed(`${dir}/memory.stat`);
    return usage - (stat.get('inactive_file') ?? 0);
  }
}

/** Lists the processes in the same cgroup as `pid` (a container's processes). */
export async function cgroupPids(pid: number): Promise<number[]> {
  const dir = await cgroupDir(pid, 'pids');
  const text = await readFile(`${dir}/cgroup.procs`, 'utf8');
  return text
    .split('\n')
    .filter((line) => line.trim() !== '')
    .map(Number);
}

async function environContains(pid: number, entry: string): Promise<boolean> {
  try {
    const environ = await readFile(`/proc/${pid}/environ`, 'utf8');
    return environ.split('\0').includes(entry);
  } catch {
    return false;
  }
}

/** Reads the process group of a live process; undefined for a zombie or a process gone. */
async function processGroupOf(pid: number): Promise<number | undefined> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    // Field 3 is the state and field 5 the process group. The command name (field 2) may
    // contain spaces, so fields are counted after its closing bracket.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? undefined : Number(fields[2]);
  } catch {
    return undefined;
  }
}

/**
 * Lists the processes of a container that belong to a fault: those whose environment contains
 * `marker` (`NAME=value`), and every process in their process groups, since stress-ng overwrites
 * its workers' environment when it renames them.
 */
export async function markedProcesses(containerPid: number, marker: string): Promise<number[]> {
  const pids = await cgroupPids(containerPid);
  const groups = new Set<number>();
  for (const pid of pids) {
    if (pid !== containerPid && (await environContains(pid, marker))) groups.add(pid);
  }
  const marked: number[] = [];
  for (const pid of pids) {
    const group = await processGroupOf(pid);
    if (pid !== containerPid && group !== undefined && groups.has(group)) marked.push(pid);
  }
  return marked;
}

async function livePids(pids: number[]): Promise<number[]> {
  const live: number[] = [];
  for (const pid of pids) if ((await processGroupOf(pid)) !== undefined) live.push(pid);
  return live;
}

/** How long a kill waits for the marked processes to end, in milliseconds. */
const KILL_TIMEOUT_MS = 5_000;

/**
 * Kills (SIGKILL) the processes of a container that belong to a fault and waits until they
 * have ended, so their memory and CPU are free when it returns. Returns how many it killed.
 */
export async function killMarkedProcesses(containerPid: number, marker: string): Promise<number> {
  const pids = await markedProcesses(containerPid, marker);
  for (const pid of pids) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch (error) {
      // A worker may have ended between the listing and the kill.
      if ((error as NodeJS.ErrnoException).code !== 'ESRCH') throw error;
    }
  }
  const startedAtMs = Date.now();
  // The killed pids themselves are awaited: once the marked parent is gone, no process carries
  // the marker any more, but its workers may still be releasing their memory.
  while ((await livePids(pids)).length > 0) {
    if (Date.now() - startedAtMs > KILL_TIMEOUT_MS) {
      throw new DockerFaultError(
        'timed-out',
        `Processes marked ${marker} still run ${KILL_TIMEOUT_MS} ms after SIGKILL.`,
        {
          value: marker,
          fix: 'Check the container with "docker top"; a process in uninterruptible sleep ends only when its I/O does.',
        },
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return pids.length;
}

/**
 * Tells whether `pid` on this host is the main process of the container `containerId`, by its
 * cgroup path, so a kill never reaches a process of another namespace or a reused pid.
 */
export async function isContainerProcess(pid: number, containerId: string): Promise<boolean> {
  try {
    return (await readFile(`/proc/${pid}/cgroup`, 'utf8')).includes(containerId);
  } catch {
    return false;
  }
}

/** Runs a host command (iptables, nsenter) and returns its output; throws on a non-zero exit. */
export async function runHostCommand(command: string, args: string[]): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, args, { timeout: 15_000 });
    return stdout;
  } catch (error) {
    const failure = error as NodeJS.ErrnoException & { stderr?: string };
    const missing = failure.code === 'ENOENT';
    throw new DockerFaultError(
      'host-command-failed',
      `${command} ${args.join(' ')} failed: ${missing ? 'command not found' : (failure.stderr ?? failure.message).trim()}`,
      {
        value: args,
        fix: missing
          ? `Install ${command} on the Docker host (apt-get install -y iptables util-linux).`
          : 'Run the driver as root on the Docker host.',
        cause: error,
      },
    );
  }
}

/**
 * Returns the host path of a folder inside a running container, through `/proc/<pid>/root`. An
 * absolute symlink on the way would resolve on the host, so every part must be a real folder.
 */
export async function hostPathOf(state: ContainerState, path: string): Promise<string> {
  const root = `/proc/${state.State.Pid}/root`;
  let current = root;
  for (const part of posix.normalize(path).split('/').filter(Boolean)) {
    current = `${current}/${part}`;
    const info = await lstat(current);
    if (!info.isDirectory()) {
      throw new DockerFaultError(
        'container-unsuitable',
        `${path} in ${state.Name} (${state.Id.slice(0, 12)}) is not a plain folder (${part} is a symlink or a file).`,
        {
          value: path,
          fix: 'Set path in the fault to the real folder of the volume.',
        },
      );
    }
  }
  return current;
}
