import { spawn } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerDriver } from '../../src/harness/drivers/docker/index.ts';
import type { FaultPlan } from '../../src/harness/faults/driver.ts';
import { recoverJournal } from '../../src/harness/journal/recovery.ts';
import {
  bridgeNetworks,
  callService,
  context,
  docker,
  fault,
  freePort,
  inspect,
  prepareEngine,
  removeTestContainers,
  run,
  startTestContainer,
  testStack,
  waitFor,
} from './helpers.ts';

const skipReason = await prepareEngine();
if (skipReason) console.warn(`Docker driver tests skipped: ${skipReason}`);

async function cpuQuota(containerId: string): Promise<string> {
  return (
    await readFile(`/sys/fs/cgroup/cpu/docker/${containerId}/cpu.cfs_quota_us`, 'utf8')
  ).trim();
}

async function stressProcesses(containerId: string): Promise<number> {
  const top: { Processes?: string[][] } = await docker
    .getContainer(containerId)
    .top({ ps_args: '-o pid,args' });
  const rows = top.Processes ?? [];
  return rows.filter((row) => row.some((cell) => cell.includes('stress-ng'))).length;
}

/** Reads the service's clock over HTTP and returns its offset from this host's clock, ms. */
async function serviceSkewMs(port: number): Promise<number> {
  const beforeMs = Date.now();
  const body = await callService(port, 2_000);
  if (typeof body !== 'object') throw new Error(`service on port ${port} failed: ${body}`);
  return body.nowMs - (beforeMs + Date.now()) / 2;
}

async function rollbackAll(plans: FaultPlan[]): Promise<void> {
  for (const plan of plans) await dockerDriver.rollback(plan, { experimentKey: 'cleanup' });
}

let workDir = '';
const REGISTER_MODULE = new URL('../../src/harness/drivers/docker/register.ts', import.meta.url)
  .href;

describe.skipIf(skipReason !== undefined)('docker driver recovery', () => {
  beforeAll(async () => {
    expect(await bridgeNetworks()).toEqual([]);
    workDir = await mkdtemp(join(tmpdir(), 'vitest-chaos-docker-'));
  });

  afterAll(async () => {
    await removeTestContainers();
    await rm(workDir, { recursive: true, force: true });
    expect(await bridgeNetworks()).toEqual([]);
  });

  it('rolls back after a restart by hand', async () => {
    const port = await freePort();
    const container = await startTestContainer({
      service: 'restarted',
      network: 'host',
      port,
      faketime: true,
    });
    const { Id: id } = await inspect(container);
    await waitFor(
      async () => typeof (await callService(port, 500)) === 'object',
      5_000,
      'the service',
    );
    const faults = [
      fault({ type: 'cpu_saturation', target: 'restarted', load: 50, workers: 1, cpu_limit: 0.5 }),
      fault({ type: 'time_skew', target: 'restarted', offset: '-1h' }),
    ];
    const plans: FaultPlan[] = [];
    for (const item of faults) {
      const plan = await dockerDriver.plan(item, context());
      plans.push(plan);
      await dockerDriver.apply(plan, context());
    }

    await container.restart({ t: 0 });
    await waitFor(
      async () => typeof (await callService(port, 500)) === 'object',
      5_000,
      'the restarted service',
    );
    const skewDuringMs = await serviceSkewMs(port);
    const quotaDuring = await cpuQuota(id);
    await rollbackAll(plans);

    expect(Math.abs(skewDuringMs + 3_600_000)).toBeLessThan(2_000);
    expect(quotaDuring).toBe('50000');
    expect(await cpuQuota(id)).toBe('-1');
    expect(await stressProcesses(id)).toBe(0);
    // libfaketime rereads the file once its one-second cache has expired, so within about 2 s.
    await waitFor(async () => Math.abs(await serviceSkewMs(port)) < 2_000, 5_000, 'the clock back');
  });

  it('finds a recreated container by its Compose labels', async () => {
    const port = await freePort();
    const clockDir = join(workDir, 'clock');
    await run('mkdir', ['-p', clockDir]);
    const options = {
      service: 'recreated',
      network: 'host' as const,
      port,
      faketime: true,
      binds: [`${clockDir}:/clock`],
      env: ['FAKETIME_TIMESTAMP_FILE=/clock/faketime'],
    };
    const first = await startTestContainer(options);
    const firstId = (await inspect(first)).Id;
    const plan = await dockerDriver.plan(
      fault({ type: 'time_skew', target: 'recreated', offset: '+2h' }),
      context(),
    );
    await dockerDriver.apply(plan, context());

    await first.remove({ force: true });
    const second = await startTestContainer(options);
    await waitFor(
      async () => typeof (await callService(port, 500)) === 'object',
      5_000,
      'the new container',
    );
    const skewDuringMs = await serviceSkewMs(port);
    await dockerDriver.rollback(plan, context());

    expect((await inspect(second)).Id).not.toBe(firstId);
    expect(plan.data.containers).toEqual([
      expect.objectContaining({ id: firstId, service: 'recreated', number: 1 }),
    ]);
    expect(Math.abs(skewDuringMs - 7_200_000)).toBeLessThan(2_000);
    expect((await readFile(join(clockDir, 'faketime'), 'utf8')).trim()).toBe('+0');
    await waitFor(async () => Math.abs(await serviceSkewMs(port)) < 2_000, 5_000, 'the clock back');
  });

  it('cleans up from the journal after kill -9', async () => {
    const port = await freePort();
    const stressed = await startTestContainer({ service: 'orphan-cpu' });
    const killed = await startTestContainer({ service: 'orphan-kill' });
    await startTestContainer({ service: 'orphan-net', network: 'host', port });
    await waitFor(
      async () => typeof (await callService(port, 500)) === 'object',
      5_000,
      'the service',
    );
    const inputFile = join(workDir, 'input.json');
    const journalDir = join(workDir, 'journal');
    await writeFile(
      inputFile,
      JSON.stringify({
        experimentKey: 'kill-9',
        stack: testStack(),
        faults: [
          { type: 'cpu_saturation', target: 'orphan-cpu', load: 50, workers: 1 },
          { type: 'availability', target: 'orphan-kill', interval: '300ms' },
          { type: 'network_partition', target: 'orphan-net' },
        ],
      }),
    );

    const child = spawn(
      process.execPath,
      ['--import', 'tsx', 'test/docker/inject-child.ts', inputFile, journalDir],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    await new Promise<void>((resolve, reject) => {
      child.stdout.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('applied')) resolve();
      });
      child.once('exit', (code) => reject(new Error(`the injecting child exited with ${code}`)));
    });
    child.kill('SIGKILL');
    await new Promise((resolve) => child.once('exit', resolve));

    const stressedId = (await inspect(stressed)).Id;
    const stressAfterKill = await stressProcesses(stressedId);
    const partitionedAfterKill = await callService(port, 400);
    const recovery = await recoverJournal({
      dir: journalDir,
      scope: 'orphaned',
      driverModules: [REGISTER_MODULE],
    });
    const plans = recovery.rolledBack.map((entry) => entry.plan);

    expect(recovery.failed).toEqual([]);
    expect(plans.map((plan) => plan.faultType).sort()).toEqual([
      'availability',
      'cpu_saturation',
      'network_partition',
    ]);
    expect(stressAfterKill).toBeGreaterThan(0);
    expect(partitionedAfterKill).toBe('TimeoutError');
    expect(await stressProcesses(stressedId)).toBe(0);
    expect(await cpuQuota(stressedId)).toBe('-1');
    expect((await inspect(killed)).State.Running).toBe(true);
    // The kills switched the restart policy off; the recovery switched it back on.
    expect((await inspect(killed)).HostConfig.RestartPolicy?.Name).toBe('always');
    expect(typeof (await callService(port, 1_000))).toBe('object');
    for (const plan of plans) expect(await dockerDriver.inspect?.(plan)).toBe('inactive');
  });
});
