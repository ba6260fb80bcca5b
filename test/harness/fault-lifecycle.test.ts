import { spawn, type ChildProcess } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DriverError, RequirementError } from '../../src/harness/errors.ts';
import { injectFault } from '../../src/harness/faults/lifecycle.ts';
import { registerDriver, resolveDriver } from '../../src/harness/faults/registry.ts';
import { faultSchema } from '../../src/harness/faults/spec.ts';
import { Journal } from '../../src/harness/journal/journal.ts';
import { recoverJournal } from '../../src/harness/journal/recovery.ts';
import type { StackInfo } from '../../src/harness/stack-info.ts';
import { markerFileDriver, processState } from './support/drivers.ts';

let dir: string;
let journal: Journal;
const stack: StackInfo = {
  kind: 'process',
  services: [],
  edges: [],
  topology: {},
  probeUrl: 'http://127.0.0.1:9/',
};

const markerFault = (path: string) =>
  faultSchema.parse({ type: 'config_corruption', target: 'victim', path });
const journalNames = () => (existsSync(journal.dir) ? readdirSync(journal.dir) : []);

describe('injectFault', () => {
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'chaos-fault-'));
    journal = new Journal(join(dir, 'journal'), 'run-1');
  });
  afterEach(() => rmSync(dir, { recursive: true, force: true }));

  it('journals the plan before apply', async () => {
    const marker = join(dir, 'marker');
    let journalledAtApply: string[] = [];
    const unregister = registerDriver({
      ...markerFileDriver,
      name: 'test-journal-order',
      apply: async (plan, context) => {
        journalledAtApply = journalNames();
        await markerFileDriver.apply(plan, context);
      },
    });
    try {
      const active = await injectFault(
        { ...markerFault(marker), driver: 'test-journal-order' },
        { stack, experimentKey: 'k1' },
        journal,
      );
      expect(journalledAtApply).toHaveLength(1);
      const entry = JSON.parse(readFileSync(join(journal.dir, journalledAtApply[0] ?? ''), 'utf8'));
      expect(entry.pid).toBe(process.pid);
      expect(entry.runId).toBe('run-1');
      expect(entry.plan.data.path).toBe(marker);
      expect(existsSync(marker)).toBe(true);
      await active.rollback();
    } finally {
      unregister();
    }
  });

  it('rolls back once and removes the entry', async () => {
    const marker = join(dir, 'marker');
    let rollbacks = 0;
    const unregister = registerDriver({
      ...markerFileDriver,
      name: 'test-counted',
      rollback: async (plan, context) => {
        rollbacks += 1;
        await markerFileDriver.rollback(plan, context);
      },
    });
    try {
      const active = await injectFault(
        { ...markerFault(marker), driver: 'test-counted' },
        { stack, experimentKey: 'k2' },
        journal,
      );
      await Promise.all([active.rollback(), active.rollback()]);
      await active.rollback();
      expect(rollbacks).toBe(1);
      expect(existsSync(marker)).toBe(false);
      expect(journalNames()).toEqual([]);
    } finally {
      unregister();
    }
  });

  it('rolls back at the end of an await using scope', async () => {
    const marker = join(dir, 'marker');
    {
      await using _active = await injectFault(
        markerFault(marker),
        { stack, experimentKey: 'k3' },
        journal,
      );
      expect(existsSync(marker)).toBe(true);
    }
    expect(existsSync(marker)).toBe(false);
  });

  it('raises RequirementError with each fix', async () => {
    const unregister = registerDriver({
      ...markerFileDriver,
      name: 'test-missing',
      checkRequirements: async () => [
        { what: 'root', reason: 'iptables needs it', fix: 'run as root' },
        { what: 'stress-ng', reason: 'CPU load', fix: 'apt-get install -y stress-ng' },
      ],
    });
    try {
      const injecting = injectFault(
        { ...markerFault(join(dir, 'm')), driver: 'test-missing' },
        { stack, experimentKey: 'k4' },
        journal,
      );
      await expect(injecting).rejects.toBeInstanceOf(RequirementError);
      await expect(injecting).rejects.toMatchObject({
        code: 'REQUIREMENT_MISSING',
        missing: [{ fix: 'run as root' }, { fix: 'apt-get install -y stress-ng' }],
      });
      expect(journalNames()).toEqual([]);
    } finally {
      unregister();
    }
  });

  it('undoes a partial apply', async () => {
    const marker = join(dir, 'marker');
    const unregister = registerDriver({
      ...markerFileDriver,
      name: 'test-half-apply',
      apply: async (plan, context) => {
        await markerFileDriver.apply(plan, context);
        throw new Error('second step failed');
      },
    });
    try {
      const injecting = injectFault(
        { ...markerFault(marker), driver: 'test-half-apply' },
        { stack, experimentKey: 'k5' },
        journal,
      );
      await expect(injecting).rejects.toMatchObject({
        code: 'DRIVER_FAILED',
        cause: { message: 'second step failed' },
      });
      expect(existsSync(marker)).toBe(false);
      expect(journalNames()).toEqual([]);
    } finally {
      unregister();
    }
  });
});

describe('resolveDriver', () => {
  it('prefers the driver the fault names', () => {
    const fault = { ...markerFault('/tmp/x'), driver: 'test-sigstop' };
    expect(resolveDriver(fault, stack).name).toBe('test-sigstop');
  });

  it('lists registered drivers when none fits', () => {
    const fault = faultSchema.parse({ type: 'memory', target: 'victim', fill: 50 });
    let caught: unknown;
    try {
      resolveDriver(fault, stack);
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DriverError);
    expect((caught as DriverError).code).toBe('DRIVER_NOT_FOUND');
    expect((caught as DriverError).message).toContain('test-sigstop');
    expect((caught as DriverError).message).toContain('test-marker-file');
  });

  it('names an unknown explicit driver', () => {
    const fault = { ...markerFault('/tmp/x'), driver: 'nope' };
    expect(() => resolveDriver(fault, stack)).toThrow(
      'Driver "nope" named by the config_corruption fault on victim is not registered.',
    );
  });
});

describe('recoverJournal', () => {
  let victim: ChildProcess;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'chaos-recover-'));
    victim = spawn('sleep', ['60'], { stdio: 'ignore' });
  });
  afterEach(() => {
    victim.kill('SIGCONT');
    victim.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  function writeEntry(pid: number, id: string): void {
    const journalDir = join(dir, 'journal');
    const entry = {
      version: 1,
      id,
      runId: 'crashed',
      pid,
      createdAtMs: Date.now(),
      experimentKey: 'k',
      plan: {
        driver: 'test-sigstop',
        mechanism: 'SIGSTOP',
        faultType: 'process_pause',
        target: 'victim',
        data: { pid: victim.pid ?? 0 },
      },
      driverModule: new URL('./support/drivers.ts', import.meta.url).href,
    };
    mkdirSync(journalDir, { recursive: true });
    writeFileSync(join(journalDir, `${id}.json`), JSON.stringify(entry));
  }

  it('rolls back entries of dead runners', async () => {
    process.kill(victim.pid ?? 0, 'SIGSTOP');
    const dead = spawn('true');
    await new Promise((resolve) => dead.once('exit', resolve));
    writeEntry(dead.pid ?? 0, 'e1');
    const result = await recoverJournal({ dir: join(dir, 'journal') });
    expect(result.rolledBack.map((entry) => entry.id)).toEqual(['e1']);
    expect(processState(victim.pid ?? 0)).not.toBe('T');
    expect(readdirSync(join(dir, 'journal'))).toEqual([]);
  });

  it('leaves entries of live runners', async () => {
    process.kill(victim.pid ?? 0, 'SIGSTOP');
    writeEntry(process.pid, 'e2');
    const result = await recoverJournal({ dir: join(dir, 'journal') });
    expect(result.skipped.map((entry) => entry.id)).toEqual(['e2']);
    expect(processState(victim.pid ?? 0)).toBe('T');
  });
});
