import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isChaosError } from '../../src/harness/errors.ts';
import { processDriver, readStartTime } from '../../src/harness/drivers/process/index.ts';
import type { DriverContext, FaultPlan } from '../../src/harness/faults/driver.ts';
import { faultSchema } from '../../src/harness/faults/spec.ts';
import type { StackInfo } from '../../src/harness/stack-info.ts';

// A stack of one plain process (sleep) described by hand, enough for the driver's own checks.
let stateDir: string;
let child: ChildProcess;
let context: DriverContext;

function stateOf(pid: number): string {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
  } catch {
    return 'gone';
  }
}

function startSleeper(): ChildProcess {
  const started = spawn('sleep', ['60'], { stdio: 'ignore' });
  writeFileSync(join(stateDir, 'pids', 'sleeper.pid'), String(started.pid));
  return started;
}

function stack(): StackInfo {
  return {
    kind: 'process',
    services: [
      {
        name: 'sleeper',
        url: 'http://127.0.0.1:9',
        port: 9,
        healthPath: '/health',
        metricsPath: '/metrics',
        dataDir: stateDir,
      },
    ],
    edges: [],
    topology: {},
    probeUrl: 'http://127.0.0.1:9/',
    stateDir,
  };
}

beforeAll(() => {
  stateDir = mkdtempSync(join(tmpdir(), 'process-driver-'));
  mkdirSync(join(stateDir, 'pids'));
  child = startSleeper();
  context = { stack: stack(), experimentKey: `d${process.pid}` };
});

afterAll(() => {
  child.kill('SIGKILL');
  rmSync(stateDir, { recursive: true, force: true });
});

describe('processDriver', () => {
  it('supports process faults on services only', () => {
    const pause = faultSchema.parse({ type: 'process_pause', target: 'sleeper' });
    const latency = faultSchema.parse({ type: 'latency', target: 'sleeper', latency: '1s' });
    expect(processDriver.supports(pause, stack())).toBe(true);
    expect(processDriver.supports(latency, stack())).toBe(false);
    expect(processDriver.supports(pause, { ...stack(), kind: 'docker' })).toBe(false);
  });

  it('plans pid and start time', async () => {
    const plan = await processDriver.plan(
      faultSchema.parse({ type: 'process_pause', target: 'sleeper' }),
      context,
    );
    expect(plan.data.pid).toBe(child.pid);
    expect(plan.data.startTime).toBe(readStartTime(child.pid!));
    expect(JSON.parse(JSON.stringify(plan))).toEqual(plan);
  });

  it('pauses and resumes a process', async () => {
    const plan = await processDriver.plan(
      faultSchema.parse({ type: 'process_pause', target: 'sleeper' }),
      context,
    );
    await processDriver.apply(plan, context);
    // verify waits for the kernel to stop the process, so the state is read after it.
    expect((await processDriver.verify(plan, context)).manifested).toBe(true);
    expect(stateOf(child.pid!)).toBe('T');
    await processDriver.rollback(plan, context);
    await processDriver.rollback(plan, context);
    expect(['R', 'S']).toContain(stateOf(child.pid!));
    expect(await processDriver.inspect!(plan)).toBe('inactive');
  });

  it('never signals a reused pid', async () => {
    const plan = await processDriver.plan(
      faultSchema.parse({ type: 'process_pause', target: 'sleeper' }),
      context,
    );
    const reused: FaultPlan = {
      ...plan,
      data: { ...plan.data, startTime: Number(plan.data.startTime) - 1 },
    };
    await processDriver.apply(reused, context);
    expect(['R', 'S']).toContain(stateOf(child.pid!));
    expect((await processDriver.verify(reused, context)).manifested).toBe(false);
  });

  it('kills once and reports the kill', async () => {
    const victim = startSleeper();
    const plan = await processDriver.plan(
      faultSchema.parse({ type: 'availability', target: 'sleeper', restart_after: '0s' }),
      { ...context, stack: { ...stack(), supervisorUrl: undefined } },
    );
    await processDriver.apply(plan, context);
    const manifestation = await processDriver.verify(plan, context);
    expect(manifestation.manifested, manifestation.detail).toBe(true);
    expect(victim.exitCode ?? victim.signalCode).toBeTruthy();
    await processDriver.rollback(plan, { experimentKey: context.experimentKey });
    child = startSleeper();
  });

  it('fills and empties a tmpfs volume', async () => {
    const volume = join(stateDir, 'volume');
    mkdirSync(volume);
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=4m', 'tmpfs', volume]);
    const usedShare = () => {
      const stats = statfsSync(volume);
      return 1 - stats.bavail / stats.blocks;
    };
    try {
      const fault = faultSchema.parse({
        type: 'disk_fill',
        target: 'sleeper',
        fill: 60,
        path: volume,
      });
      const plan = await processDriver.plan(fault, context);
      await processDriver.apply(plan, context);
      const filled = usedShare();
      expect((await processDriver.verify(plan, context)).manifested).toBe(true);
      await processDriver.rollback(plan, context);
      expect(filled).toBeGreaterThanOrEqual(0.6);
      expect(usedShare()).toBeLessThan(0.05);
      expect(await processDriver.inspect!(plan)).toBe('inactive');
    } finally {
      execFileSync('umount', [volume]);
    }
  });

  it('names the install command of a missing tool', async () => {
    const fault = faultSchema.parse({ type: 'cpu_saturation', target: 'sleeper', load: 50 });
    const path = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const missing = await processDriver.checkRequirements(fault, context);
      expect(missing.map((item) => item.what)).toContain('stress-ng');
      expect(missing.find((item) => item.what === 'stress-ng')?.fix).toBe(
        'apt-get install -y stress-ng',
      );
    } finally {
      process.env.PATH = path;
    }
  });

  it('rejects a service without a process', async () => {
    const fault = faultSchema.parse({ type: 'process_pause', target: 'sleeper' });
    const empty = mkdtempSync(join(tmpdir(), 'process-driver-empty-'));
    try {
      await expect(
        processDriver.plan(fault, { ...context, stack: { ...stack(), stateDir: empty } }),
      ).rejects.toSatisfy((error) => isChaosError(error, 'DRIVER_FAILED'));
    } finally {
      rmSync(empty, { recursive: true, force: true });
    }
  });

  it('rejects a broken plan from the journal', async () => {
    const plan: FaultPlan = {
      driver: 'process',
      mechanism: 'x',
      faultType: 'process_pause',
      target: 'sleeper',
      data: { pid: 'x' },
    };
    await expect(processDriver.rollback(plan, context)).rejects.toSatisfy((error) =>
      isChaosError(error, 'DRIVER_FAILED'),
    );
  });
});
