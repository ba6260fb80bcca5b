import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDockerDriver,
  dockerDriver,
  isDockerFaultError,
} from '../../src/harness/drivers/docker/index.ts';
import {
  bridgeNetworks,
  callService,
  context,
  fault,
  freePort,
  inspect,
  prepareEngine,
  removeTestContainers,
  startTestContainer,
  waitFor,
} from './helpers.ts';

const skipReason = await prepareEngine();
if (skipReason) console.warn(`Docker driver tests skipped: ${skipReason}`);

async function serviceAnswers(port: number): Promise<boolean> {
  return typeof (await callService(port, 500)) === 'object';
}

describe.skipIf(skipReason !== undefined)('docker driver lifecycle faults', () => {
  beforeAll(async () => {
    expect(await bridgeNetworks()).toEqual([]);
  });

  afterAll(async () => {
    await removeTestContainers();
    expect(await bridgeNetworks()).toEqual([]);
  });

  it('kills once and holds for restart_after', async () => {
    const port = await freePort();
    const container = await startTestContainer({ service: 'kill-once', network: 'host', port });
    await waitFor(() => serviceAnswers(port), 5_000, 'the service');
    const before = await inspect(container);

    const plan = await dockerDriver.plan(
      fault({ type: 'availability', target: 'kill-once', restart_after: '1500ms' }),
      context(),
    );
    const appliedAtMs = Date.now();
    await dockerDriver.apply(plan, context());
    const whileDown = await inspect(container);
    const manifestation = await dockerDriver.verify(plan, context());
    await waitFor(async () => (await inspect(container)).State.Running, 5_000, 'the start');
    const downForMs = Date.now() - appliedAtMs;
    const duringFault = await inspect(container);
    await dockerDriver.rollback(plan, context());

    const after = await inspect(container);
    expect(manifestation.manifested).toBe(true);
    expect(whileDown.State.Running).toBe(false);
    expect(whileDown.HostConfig.RestartPolicy?.Name).toBe('no');
    // Under its own restart policy the engine restarted it in less than a second here.
    expect(downForMs).toBeGreaterThanOrEqual(1_400);
    expect(duringFault.HostConfig.RestartPolicy?.Name).toBe('no');
    expect(after.State.Running).toBe(true);
    expect(after.State.Pid).not.toBe(before.State.Pid);
    expect(after.HostConfig.RestartPolicy?.Name).toBe('always');
    expect(await dockerDriver.inspect?.(plan)).toBe('inactive');
    await waitFor(() => serviceAnswers(port), 5_000, 'the service after the restart');
  });

  it('kills every interval until rollback', async () => {
    const container = await startTestContainer({ service: 'kill-loop' });
    const plan = await dockerDriver.plan(
      fault({
        type: 'availability',
        target: 'kill-loop',
        interval: '400ms',
        restart_after: '100ms',
      }),
      context(),
    );
    const starts = new Set<string>([(await inspect(container)).State.StartedAt]);
    await dockerDriver.apply(plan, context());
    await waitFor(
      async () => {
        const state = await inspect(container);
        if (state.State.Running) starts.add(state.State.StartedAt);
        return starts.size >= 4;
      },
      10_000,
      'three starts after kills',
    );
    expect(await dockerDriver.inspect?.(plan)).toBe('active');

    await dockerDriver.rollback(plan, context());
    const afterRollback = await inspect(container);
    await new Promise((resolve) => setTimeout(resolve, 800));
    const later = await inspect(container);
    expect(afterRollback.State.Running).toBe(true);
    expect(afterRollback.HostConfig.RestartPolicy?.Name).toBe('always');
    expect(later.State.Running).toBe(true);
    expect(later.State.StartedAt).toBe(afterRollback.State.StartedAt);
    expect(await dockerDriver.inspect?.(plan)).toBe('inactive');
  });

  it('starts a container without restart policy after restart_after', async () => {
    const container = await startTestContainer({ service: 'no-policy', restart: 'no' });
    const plan = await dockerDriver.plan(
      fault({ type: 'availability', target: 'no-policy', restart_after: '400ms' }),
      context(),
    );
    await dockerDriver.apply(plan, context());
    expect((await inspect(container)).State.Running).toBe(false);
    await waitFor(
      async () => (await inspect(container)).State.Running,
      5_000,
      'the start after 400 ms',
    );
    expect((await dockerDriver.verify(plan, context())).manifested).toBe(true);
    await dockerDriver.rollback(plan, context());
    expect((await inspect(container)).State.Running).toBe(true);
  });

  it('pauses and unpauses', async () => {
    const port = await freePort();
    const container = await startTestContainer({ service: 'pause', network: 'host', port });
    await waitFor(() => serviceAnswers(port), 5_000, 'the service');
    const plan = await dockerDriver.plan(
      fault({ type: 'process_pause', target: 'pause' }),
      context(),
    );
    await dockerDriver.apply(plan, context());

    expect((await inspect(container)).State.Paused).toBe(true);
    expect((await dockerDriver.verify(plan, context())).manifested).toBe(true);
    // The kernel still accepts the connection, so the client hangs until its own timeout.
    expect(await callService(port, 400)).toBe('TimeoutError');

    await dockerDriver.rollback(plan, context());
    expect((await inspect(container)).State.Paused).toBe(false);
    expect(await serviceAnswers(port)).toBe(true);
    await dockerDriver.rollback(plan, context());
  });

  it('stops and starts for down', async () => {
    const container = await startTestContainer({ service: 'down' });
    const plan = await dockerDriver.plan(fault({ type: 'down', target: 'down' }), context());
    await dockerDriver.apply(plan, context());

    expect((await inspect(container)).State.Running).toBe(false);
    expect((await dockerDriver.verify(plan, context())).manifested).toBe(true);
    await dockerDriver.rollback(plan, context());
    expect((await inspect(container)).State.Running).toBe(true);
  });

  it('hits the seeded replicas only', async () => {
    const replicas = await Promise.all(
      [1, 2, 3].map((number) => startTestContainer({ service: 'replicated', number })),
    );
    const pausedNames = async (): Promise<string[]> => {
      const states = await Promise.all(replicas.map((replica) => inspect(replica)));
      return states.filter((state) => state.State.Paused).map((state) => state.Name);
    };
    const one = fault({ type: 'process_pause', target: 'replicated', instances: 'one', seed: 7 });
    const planOne = await dockerDriver.plan(one, context());
    const planAgain = await dockerDriver.plan(one, context());
    const planTwo = await dockerDriver.plan({ ...one, instances: 2 }, context());
    const planAll = await dockerDriver.plan({ ...one, instances: undefined }, context());

    expect(planOne.data.containers).toEqual(planAgain.data.containers);
    expect(planTwo.data.containers).toHaveLength(2);
    expect(planAll.data.containers).toHaveLength(3);
    await dockerDriver.apply(planOne, context());
    expect(await pausedNames()).toHaveLength(1);
    await dockerDriver.rollback(planOne, context());
    expect(await pausedNames()).toHaveLength(0);
  });

  it('rejects a target that matches nothing', async () => {
    const error: unknown = await dockerDriver
      .plan(fault({ type: 'down', target: 'no-such-service' }), context())
      .catch((caught: unknown) => caught);
    expect(isDockerFaultError(error, 'target-not-found')).toBe(true);
    expect(String(error)).toContain('no-such-service');
  });

  it('reports an unreachable engine', async () => {
    const driver = createDockerDriver({ socketPath: '/tmp/vitest-chaos-no-engine.sock' });
    const target = fault({ type: 'down', target: 'down' });
    const missing = await driver.checkRequirements(target, context());
    const error: unknown = await driver.plan(target, context()).catch((caught: unknown) => caught);

    expect(missing.map((item) => item.what)).toEqual(['Docker engine']);
    expect(missing[0]?.fix).toContain('docker-setup.sh');
    expect(isDockerFaultError(error, 'engine-unreachable')).toBe(true);
  });
});
