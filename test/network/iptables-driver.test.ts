import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  iptablesDriver,
  iptablesSnapshot,
  readChainCounters,
  type IptablesPlanData,
} from '../../src/harness/drivers/iptables/index.ts';
import { runCommand } from '../../src/harness/drivers/iptables/exec.ts';
import { faultSchema } from '../../src/harness/faults/spec.ts';
import { stackInfoSchema, type StackInfo } from '../../src/harness/stack-info.ts';
import { EDGE, get, runPool, startHttpService } from './helpers.ts';

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)('iptablesDriver', () => {
  let service: Awaited<ReturnType<typeof startHttpService>>;
  let stack: StackInfo;

  beforeAll(async () => {
    service = await startHttpService('ok');
    stack = stackInfoSchema.parse({
      kind: 'process',
      services: [{ name: EDGE.callee, url: service.url, port: service.port }],
      edges: [{ ...EDGE }],
      probeUrl: service.url,
    });
  });

  afterAll(async () => {
    await service?.close();
  });

  it('drops the set share of packets and restores the rules', async () => {
    const before = await iptablesSnapshot();
    const context = { stack, experimentKey: `iptables-${process.pid}-${Date.now()}` };
    const fault = faultSchema.parse({
      type: 'network_loss',
      target: EDGE.callee,
      probability: 0.3,
      mechanism: 'packet',
    });
    expect(iptablesDriver.supports(fault, stack)).toBe(true);
    expect(await iptablesDriver.checkRequirements(fault, context)).toEqual([]);
    const plan = await iptablesDriver.plan(fault, context);
    const data = plan.data as IptablesPlanData;
    try {
      await iptablesDriver.apply(plan, context);
      const verified = await iptablesDriver.verify(plan, context);
      expect(verified.manifested).toBe(true);
      expect(await iptablesDriver.inspect!(plan)).toBe('active');

      const results = await runPool(120, 12, () => get(`${service.url}/`, 300));
      const counters = await readChainCounters(data.chain);
      const share = counters.droppedPackets / counters.seenPackets;
      const slow = results.filter((result) => result.status !== 200).length;
      console.log(
        `packet loss 30%: ${counters.droppedPackets} of ${counters.seenPackets} packets dropped (${(share * 100).toFixed(1)}%), ${slow} of 120 requests missed a 300 ms timeout`,
      );
      expect(counters.seenPackets).toBeGreaterThan(300);
      expect(share).toBeGreaterThan(0.2);
      expect(share).toBeLessThan(0.4);
      expect(slow).toBeGreaterThan(0);
    } finally {
      await iptablesDriver.rollback(plan, context);
    }
    expect(await iptablesDriver.inspect!(plan)).toBe('inactive');
    const chains = await runCommand('iptables', ['-w', '-S']);
    expect(chains.stdout).not.toContain(data.chain);
    expect(await iptablesSnapshot()).toBe(before);
    await iptablesDriver.rollback(plan, context);
    expect(await iptablesSnapshot()).toBe(before);
    const after = await runPool(20, 4, () => get(`${service.url}/`, 1_000));
    expect(after.every((result) => result.status === 200)).toBe(true);
  });

  it('names a missing iptables with the fix', async () => {
    const fault = faultSchema.parse({
      type: 'network_loss',
      target: EDGE.callee,
      probability: 0.3,
      driver: 'iptables',
    });
    const savedPath = process.env.PATH;
    process.env.PATH = '/nonexistent';
    try {
      const missing = await iptablesDriver.checkRequirements(fault, { stack, experimentKey: 'k' });
      expect(missing.map((item) => item.what)).toEqual(['iptables']);
      expect(missing[0]!.fix).toContain('apt-get install -y iptables');
    } finally {
      process.env.PATH = savedPath;
    }
  });

  it('picks the iptables driver only for packet loss', () => {
    const byConnection = faultSchema.parse({
      type: 'network_loss',
      target: EDGE.callee,
      probability: 0.3,
    });
    const forced = faultSchema.parse({
      type: 'network_loss',
      target: EDGE.callee,
      probability: 0.3,
      driver: 'iptables',
    });
    const latency = faultSchema.parse({ type: 'latency', target: EDGE.callee, latency: 10 });
    expect(iptablesDriver.supports(byConnection, stack)).toBe(false);
    expect(iptablesDriver.supports(forced, stack)).toBe(true);
    expect(iptablesDriver.supports(latency, stack)).toBe(false);
  });
});
