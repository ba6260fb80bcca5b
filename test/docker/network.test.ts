import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dockerDriver } from '../../src/harness/drivers/docker/index.ts';
import {
  bridgeNetworks,
  callService,
  context,
  fault,
  freePort,
  inspect,
  prepareEngine,
  removeTestContainers,
  run,
  startTestContainer,
  waitFor,
} from './helpers.ts';

const skipReason = await prepareEngine();
if (skipReason) console.warn(`Docker driver tests skipped: ${skipReason}`);

/** Opens `attempts` TCP connections to 127.0.0.1:port, each with a 150 ms limit; prints the successes. */
const CONNECT_CODE = `
const net = require('net');
const [port, attempts] = process.argv.slice(1).map(Number);
let ok = 0;
(async () => {
  for (let i = 0; i < attempts; i += 1) {
    ok += await new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      const done = (value) => { socket.destroy(); clearTimeout(timer); resolve(value); };
      const timer = setTimeout(() => done(0), 150);
      socket.once('connect', () => done(1));
      socket.once('error', () => done(0));
    });
  }
  console.log(ok);
})();
`;

/** Counts successful connections from inside the network namespace of process `pid`. */
async function connectsInNamespace(pid: number, port: number, attempts: number): Promise<number> {
  const output = await run('nsenter', [
    '-t',
    String(pid),
    '-n',
    process.execPath,
    '-e',
    CONNECT_CODE,
    String(port),
    String(attempts),
  ]);
  return Number(output.trim());
}

describe.skipIf(skipReason !== undefined)('docker driver network faults', () => {
  beforeAll(async () => {
    expect(await bridgeNetworks()).toEqual([]);
  });

  afterAll(async () => {
    await removeTestContainers();
    expect(await bridgeNetworks()).toEqual([]);
  });

  it('partitions a host-network container on its port', async () => {
    const port = await freePort();
    await startTestContainer({ service: 'partition', network: 'host', port });
    await waitFor(
      async () => typeof (await callService(port, 500)) === 'object',
      5_000,
      'the service',
    );
    const plan = await dockerDriver.plan(
      fault({ type: 'network_partition', target: 'partition' }),
      context(),
    );
    const chain = String(
      (plan.data.params as { containers: { chain: string }[] }).containers[0]?.chain,
    );
    await dockerDriver.apply(plan, context());

    const manifestation = await dockerDriver.verify(plan, context());
    expect(manifestation.manifested, manifestation.detail).toBe(true);
    expect(await callService(port, 400)).toBe('TimeoutError');
    expect(await run('iptables', ['-w', '5', '-S'])).toContain(chain);

    await dockerDriver.rollback(plan, context());
    expect(typeof (await callService(port, 1_000))).toBe('object');
    expect(await run('iptables', ['-w', '5', '-S'])).not.toContain(chain);
    expect(await dockerDriver.inspect?.(plan)).toBe('inactive');
  });

  it('drops a share of packets in a none-network container', async () => {
    const port = await freePort();
    const container = await startTestContainer({ service: 'loss', network: 'none', port });
    const { State } = await inspect(container);
    await waitFor(
      async () => (await connectsInNamespace(State.Pid, port, 1)) === 1,
      5_000,
      'the service',
    );
    const plan = await dockerDriver.plan(
      fault({ type: 'network_loss', target: 'loss', probability: 0.5 }),
      context(),
    );
    await dockerDriver.apply(plan, context());

    const manifestation = await dockerDriver.verify(plan, context());
    const during = await connectsInNamespace(State.Pid, port, 30);
    const rulesDuring = await run('nsenter', [
      '-t',
      String(State.Pid),
      '-n',
      'iptables',
      '-w',
      '5',
      '-S',
    ]);
    await dockerDriver.rollback(plan, context());
    const after = await connectsInNamespace(State.Pid, port, 30);
    const rulesAfter = await run('nsenter', [
      '-t',
      String(State.Pid),
      '-n',
      'iptables',
      '-w',
      '5',
      '-S',
    ]);

    expect(manifestation.manifested, manifestation.detail).toBe(true);
    // With half the SYNs dropped, about 15 of 30 connect; 4 and 26 are far outside chance.
    expect(during).toBeGreaterThan(4);
    expect(during).toBeLessThan(26);
    expect(rulesDuring).toContain('statistic');
    expect(after).toBe(30);
    expect(rulesAfter).not.toContain('statistic');
  });
});
