import { readFile } from 'node:fs/promises';
import { PassThrough } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerDriver, isDockerFaultError } from '../../src/harness/drivers/docker/index.ts';
import {
  bridgeNetworks,
  context,
  docker,
  fault,
  inspect,
  prepareEngine,
  removeTestContainers,
  startTestContainer,
} from './helpers.ts';

const skipReason = await prepareEngine();
if (skipReason) console.warn(`Docker driver tests skipped: ${skipReason}`);

const MIB = 1024 * 1024;

async function cgroupFile(containerId: string, controller: string, file: string): Promise<string> {
  return (
    await readFile(`/sys/fs/cgroup/${controller}/docker/${containerId}/${file}`, 'utf8')
  ).trim();
}

/** Runs a command in the container and returns its stdout. */
async function execOutput(containerId: string, command: string[]): Promise<string> {
  const exec = await docker
    .getContainer(containerId)
    .exec({ Cmd: command, AttachStdout: true, AttachStderr: true });
  const stream = await exec.start({ hijack: true, stdin: false });
  const chunks: Buffer[] = [];
  const sink = new PassThrough();
  sink.on('data', (chunk: Buffer) => chunks.push(chunk));
  docker.modem.demuxStream(stream, sink, sink);
  await new Promise((resolve) => stream.once('end', resolve));
  return Buffer.concat(chunks).toString('utf8').trim();
}

async function stressProcesses(containerId: string): Promise<number> {
  const top: { Processes?: string[][] } = await docker
    .getContainer(containerId)
    .top({ ps_args: '-o pid,args' });
  const rows = top.Processes ?? [];
  return rows.filter((row) => row.some((cell) => cell.includes('stress-ng'))).length;
}

describe.skipIf(skipReason !== undefined)('docker driver resource faults', () => {
  beforeAll(async () => {
    expect(await bridgeNetworks()).toEqual([]);
  });

  afterAll(async () => {
    await removeTestContainers();
    expect(await bridgeNetworks()).toEqual([]);
  });

  it('saturates the CPU under a temporary quota', async () => {
    const container = await startTestContainer({ service: 'cpu' });
    const { Id: id } = await inspect(container);
    const plan = await dockerDriver.plan(
      fault({ type: 'cpu_saturation', target: 'cpu', load: 100, workers: 1, cpu_limit: 0.3 }),
      context(),
    );
    await dockerDriver.apply(plan, context());

    const manifestation = await dockerDriver.verify(plan, context());
    expect(manifestation.manifested, manifestation.detail).toBe(true);
    expect(await cgroupFile(id, 'cpu', 'cpu.cfs_quota_us')).toBe('30000');
    expect(await stressProcesses(id)).toBeGreaterThan(0);

    await dockerDriver.rollback(plan, context());
    expect(await stressProcesses(id)).toBe(0);
    expect(await cgroupFile(id, 'cpu', 'cpu.cfs_quota_us')).toBe('-1');
    expect(await dockerDriver.inspect?.(plan)).toBe('inactive');
  });

  it('keeps the CPU limit a container already has', async () => {
    const container = await startTestContainer({ service: 'cpu-limited', nanoCpus: 400_000_000 });
    const { Id: id } = await inspect(container);
    const plan = await dockerDriver.plan(
      fault({ type: 'cpu_saturation', target: 'cpu-limited', load: 100, workers: 1 }),
      context(),
    );
    await dockerDriver.apply(plan, context());
    const manifestation = await dockerDriver.verify(plan, context());
    await dockerDriver.rollback(plan, context());

    expect(manifestation.detail).toContain('of 0.4 CPUs');
    expect(await cgroupFile(id, 'cpu', 'cpu.cfs_quota_us')).toBe('40000');
    expect(await stressProcesses(id)).toBe(0);
  });

  it('fills memory inside the limit', async () => {
    const container = await startTestContainer({ service: 'memory', memoryBytes: 128 * MIB });
    const { Id: id } = await inspect(container);
    const plan = await dockerDriver.plan(
      fault({ type: 'memory', target: 'memory', fill: 70 }),
      context(),
    );
    await dockerDriver.apply(plan, context());

    const filledBytes = Number(await cgroupFile(id, 'memory', 'memory.usage_in_bytes'));
    const manifestation = await dockerDriver.verify(plan, context());
    expect(manifestation.manifested, manifestation.detail).toBe(true);
    expect(filledBytes).toBeGreaterThan(0.6 * 128 * MIB);
    expect(filledBytes).toBeLessThan(128 * MIB);

    await dockerDriver.rollback(plan, context());
    const afterBytes = Number(await cgroupFile(id, 'memory', 'memory.usage_in_bytes'));
    expect(afterBytes).toBeLessThan(0.4 * 128 * MIB);
    expect((await inspect(container)).State.Running).toBe(true);
  });

  it('rejects memory fill without a limit', async () => {
    await startTestContainer({ service: 'memory-unlimited' });
    const target = fault({ type: 'memory', target: 'memory-unlimited', fill: 50 });
    const missing = await dockerDriver.checkRequirements(target, context());
    expect(missing[0]?.reason).toContain('has no memory limit');
    expect(missing[0]?.fix).toContain('mem_limit');
  });

  it('fills a sized tmpfs and frees it', async () => {
    const container = await startTestContainer({ service: 'disk', tmpfs: { '/data': 'size=16m' } });
    const { Id: id } = await inspect(container);
    const usedPercent = async (): Promise<number> => {
      const output = await execOutput(id, [
        'node',
        '-e',
        "const s = require('fs').statfsSync('/data'); console.log((s.blocks - s.bfree) / s.blocks * 100)",
      ]);
      return Number(output);
    };
    const plan = await dockerDriver.plan(
      fault({ type: 'disk_fill', target: 'disk', fill: 90 }),
      context(),
    );
    await dockerDriver.apply(plan, context());

    const manifestation = await dockerDriver.verify(plan, context());
    expect(manifestation.manifested, manifestation.detail).toBe(true);
    expect(await usedPercent()).toBeGreaterThan(88);

    await dockerDriver.rollback(plan, context());
    expect(await usedPercent()).toBeLessThan(5);
    await dockerDriver.rollback(plan, context());
  });

  it('skews the clock and restores it', async () => {
    const container = await startTestContainer({ service: 'clock', faketime: true });
    const { Id: id } = await inspect(container);
    const skewMs = async (): Promise<number> => {
      const beforeMs = Date.now();
      const containerMs = Number(await execOutput(id, ['node', '-e', 'console.log(Date.now())']));
      return containerMs - (beforeMs + Date.now()) / 2;
    };
    const plan = await dockerDriver.plan(
      fault({ type: 'time_skew', target: 'clock', offset: '+90s' }),
      context(),
    );
    await dockerDriver.apply(plan, context());

    const manifestation = await dockerDriver.verify(plan, context());
    expect(manifestation.manifested, manifestation.detail).toBe(true);
    expect(Math.abs((await skewMs()) - 90_000)).toBeLessThan(2_000);

    await dockerDriver.rollback(plan, context());
    expect(Math.abs(await skewMs())).toBeLessThan(2_000);
    expect(await dockerDriver.inspect?.(plan)).toBe('inactive');
  });

  it('reports stress-ng missing from the image', async () => {
    await startTestContainer({ service: 'no-tools', env: ['PATH=/nonexistent'] });
    const target = fault({ type: 'cpu_saturation', target: 'no-tools', load: 50 });
    const missing = await dockerDriver.checkRequirements(target, context());
    const plan = await dockerDriver.plan(target, context());
    const error: unknown = await dockerDriver
      .apply(plan, context())
      .catch((caught: unknown) => caught);
    await dockerDriver.rollback(plan, context());

    expect(missing[0]?.what).toContain('stress-ng');
    expect(isDockerFaultError(error, 'tool-missing')).toBe(true);
  });
});
