import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDockerStack, type RunningDockerStack } from '../../fixtures/docker/stack.ts';
import { dockerDriver } from '../../src/harness/drivers/docker/index.ts';
import { startToxiproxyServer } from '../../src/harness/drivers/toxiproxy/server.ts';
import { bridgeNetworks, docker, fault, prepareEngine } from './helpers.ts';

const skipReason = await prepareEngine();
if (skipReason) console.warn(`Docker stack test skipped: ${skipReason}`);

const PROJECT = `vctest-stack-${process.pid}`;

async function stackContainers(): Promise<{ service: string; state: string }[]> {
  const listed = await docker.listContainers({
    all: true,
    filters: { label: [`com.docker.compose.project=${PROJECT}`] },
  });
  return listed.map((entry) => ({
    service: entry.Labels['com.docker.compose.service'] ?? '',
    state: entry.State,
  }));
}

describe.skipIf(skipReason !== undefined)('embedded stack under Docker Compose', () => {
  let toxiproxy: Awaited<ReturnType<typeof startToxiproxyServer>> | undefined;
  let stack: RunningDockerStack | undefined;

  beforeAll(async () => {
    toxiproxy = await startToxiproxyServer();
    stack = await startDockerStack({
      toxiproxyUrl: toxiproxy.url,
      project: PROJECT,
      workload: { ratePerSecond: 2 },
    });
  });

  afterAll(async () => {
    await stack?.stop();
    await toxiproxy?.stop();
    expect(await stackContainers()).toEqual([]);
    expect(await bridgeNetworks()).toEqual([]);
  });

  it('runs every service in its own container', async () => {
    const containers = await stackContainers();
    const running = containers.filter((entry) => entry.state === 'running');

    expect(stack?.info.kind).toBe('docker');
    expect(stack?.info.composeProject).toBe(PROJECT);
    expect(running.map((entry) => entry.service).sort()).toEqual(
      stack?.info.services.map((service) => service.name).sort(),
    );
    expect(await bridgeNetworks()).toEqual([]);
  });

  it('serves the probe route', async () => {
    const response = await fetch(stack?.info.probeUrl ?? '', {
      signal: AbortSignal.timeout(5_000),
    });
    expect(response.status).toBe(200);
  });

  it('kills a service and starts it again after restart_after', async () => {
    const info = stack?.info;
    if (!info) throw new Error('the stack did not start');
    const context = { stack: info, experimentKey: `stack-${process.pid}` };
    const payment = info.services.find((service) => service.name === 'payment-svc');
    const plan = await dockerDriver.plan(
      fault({ type: 'availability', target: 'payment-svc' }),
      context,
    );
    await dockerDriver.apply(plan, context);
    const manifestation = await dockerDriver.verify(plan, context);
    await dockerDriver.rollback(plan, context);

    expect(manifestation.manifested, manifestation.detail).toBe(true);
    expect(plan.data.containers).toEqual([
      expect.objectContaining({ service: 'payment-svc', project: PROJECT }),
    ]);
    const healthy = async (): Promise<boolean> =>
      fetch(`${payment?.url ?? ''}/health`, { signal: AbortSignal.timeout(1_000) }).then(
        (response) => response.ok,
        () => false,
      );
    const startedAtMs = Date.now();
    while (!(await healthy()) && Date.now() - startedAtMs < 10_000) {
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(await healthy()).toBe(true);
  });
});
