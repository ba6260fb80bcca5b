/**
 * Measures the network fault drivers against a real Toxiproxy server, the fault layer and local
 * HTTP and DNS servers on 127.0.0.1:
 * - activation latency: from the inject call to the start of the first request that shows the
 *   fault, and rollback latency: from the rollback call to the start of the first clean request,
 *   as p50/p99 per fault;
 * - the latency Toxiproxy and the HTTP fault proxy add with no fault, against a direct
 *   connection, all three measured interleaved in the same run.
 * Run with `npx tsx bench/network-faults.bench.ts`; bounded to a few hundred requests per path
 * and 25 rounds per fault, it stops by itself in under a minute on two cores.
 */
import { dnsDelayDriver } from '../src/harness/drivers/dns/index.ts';
import { httpFaultProxyDriver } from '../src/harness/drivers/http-fault-proxy/index.ts';
import { iptablesDriver } from '../src/harness/drivers/iptables/index.ts';
import { startToxiproxyServer, toxiproxyDriver } from '../src/harness/drivers/toxiproxy/index.ts';
import { startFaultLayer } from '../src/harness/fault-layer/index.ts';
import type { DriverContext, FaultDriver } from '../src/harness/faults/driver.ts';
import { faultSchema, type FaultInput } from '../src/harness/faults/spec.ts';
import { stackInfoSchema, type StackInfo } from '../src/harness/stack-info.ts';
import {
  createProxy,
  EDGE,
  get,
  PROXY,
  quantile,
  resolveA,
  startDnsServer,
  startHttpService,
} from '../test/network/helpers.ts';

const ROUNDS = 25;
const OVERHEAD_REQUESTS_PER_PATH = 400;
/** Give up on one activation or rollback after this long, in milliseconds. */
const WAIT_LIMIT_MS = 2_000;
/** Request timeout that counts a partitioned or dropped request as affected, in milliseconds. */
const HANG_MS = 100;
const BODY_BYTES = 64 * 1024;

/** One request or query, with whether it shows the fault. */
type Check = () => Promise<boolean>;

interface Scenario {
  label: string;
  driver: FaultDriver;
  fault: FaultInput;
  affected: Check;
}

const isRoot = process.getuid?.() === 0;

async function waitFor(check: Check, wanted: boolean, startedAt: number): Promise<number> {
  while (performance.now() - startedAt < WAIT_LIMIT_MS) {
    const requestStart = performance.now();
    if ((await check()) === wanted) return requestStart - startedAt;
  }
  throw new Error(`no ${wanted ? 'affected' : 'clean'} request within ${WAIT_LIMIT_MS} ms`);
}

async function measureScenario(scenario: Scenario, stack: StackInfo) {
  const activationMs: number[] = [];
  const rollbackMs: number[] = [];
  const context: DriverContext = { stack, experimentKey: `bench-${process.pid}-${scenario.label}` };
  const plan = await scenario.driver.plan(faultSchema.parse(scenario.fault), context);
  for (let round = 0; round < ROUNDS; round++) {
    const injectAt = performance.now();
    try {
      await scenario.driver.apply(plan, context);
      activationMs.push(await waitFor(scenario.affected, true, injectAt));
    } finally {
      const rollbackAt = performance.now();
      await scenario.driver.rollback(plan, context);
      rollbackMs.push(await waitFor(scenario.affected, false, rollbackAt));
    }
  }
  return { activationMs, rollbackMs };
}

function format(values: number[]): string {
  return `p50 ${quantile(values, 0.5).toFixed(1)} ms, p99 ${quantile(values, 0.99).toFixed(1)} ms`;
}

async function measureOverhead(paths: Record<string, string>) {
  const elapsed: Record<string, number[]> = Object.fromEntries(
    Object.keys(paths).map((name) => [name, []]),
  );
  for (let index = 0; index < OVERHEAD_REQUESTS_PER_PATH; index++) {
    for (const [name, url] of Object.entries(paths)) {
      const result = await get(url);
      if (result.status !== 200)
        throw new Error(`GET ${url} failed: ${result.error ?? result.status}`);
      elapsed[name]!.push(result.elapsedMs);
    }
  }
  return elapsed;
}

interface BenchUrls {
  proxy: string;
  route: string;
  direct: string;
  dnsPort: number;
}

function toxiproxyScenarios(urls: BenchUrls): Scenario[] {
  const viaProxy = () => get(`${urls.proxy}/health`, HANG_MS);
  const failing = async () => (await viaProxy()).status !== 200;
  const scenario = (label: string, fault: FaultInput, affected: Check): Scenario => ({
    label,
    driver: toxiproxyDriver,
    fault,
    affected,
  });
  return [
    scenario('latency 50ms', { type: 'latency', target: EDGE.callee, latency: 50 }, async () => {
      return (await viaProxy()).elapsedMs >= 45;
    }),
    scenario(
      'bandwidth 256KB/s',
      { type: 'bandwidth', target: EDGE.callee, rate_kbps: 256 },
      async () => {
        return (await get(`${urls.proxy}/`, 1_000)).elapsedMs >= 100;
      },
    ),
    scenario('network_partition', { type: 'network_partition', target: EDGE.callee }, failing),
    scenario('down', { type: 'down', target: EDGE.callee }, failing),
    scenario('connection_reset', { type: 'connection_reset', target: EDGE.callee }, failing),
    scenario(
      'network_loss conn p=1',
      { type: 'network_loss', target: EDGE.callee, probability: 1 },
      failing,
    ),
  ];
}

function otherScenarios(urls: BenchUrls): Scenario[] {
  const list: Scenario[] = [
    {
      label: 'cascade_retry p=1',
      driver: httpFaultProxyDriver,
      fault: { type: 'cascade_retry', target: `${EDGE.caller}->${EDGE.callee}`, probability: 1 },
      affected: async () => (await get(`${urls.route}/`)).status === 500,
    },
    {
      label: 'http_slow 50ms',
      driver: httpFaultProxyDriver,
      fault: { type: 'http_slow', target: EDGE.callee, delay: 50 },
      affected: async () => (await get(`${urls.route}/health`)).elapsedMs >= 45,
    },
    {
      label: 'dns_latency 50ms',
      driver: dnsDelayDriver,
      fault: { type: 'dns_latency', target: EDGE.caller, delay: 50 },
      affected: async () => (await resolveA(urls.dnsPort, EDGE.callee)).elapsedMs >= 45,
    },
  ];
  if (isRoot) {
    list.push({
      label: 'network_loss packet p=1',
      driver: iptablesDriver,
      fault: { type: 'network_loss', target: EDGE.callee, probability: 1, mechanism: 'packet' },
      affected: async () => (await get(`${urls.direct}/health`, HANG_MS)).status !== 200,
    });
  }
  return list;
}

/** Prints the overhead of each path and returns its added p50 (ms) and ratio to direct. */
function reportOverhead(overhead: Record<string, number[]>) {
  const directP50 = quantile(overhead.direct!, 0.5);
  const added: Record<string, { addedP50: number; ratio: number }> = {};
  console.log(
    `overhead, ${OVERHEAD_REQUESTS_PER_PATH} GETs per path on new connections, interleaved:`,
  );
  for (const [name, values] of Object.entries(overhead)) {
    const p50 = quantile(values, 0.5);
    added[name] = { addedP50: p50 - directP50, ratio: p50 / directP50 };
    const addedText = `added p50 ${(p50 - directP50).toFixed(2)} ms, ratio ${(p50 / directP50).toFixed(2)}x`;
    console.log(`  ${name.padEnd(17)} ${format(values)}; ${addedText}`);
  }
  return added;
}

/** Measures every scenario, prints each, and returns the worst activation and rollback p99. */
async function reportScenarios(list: Scenario[], stack: StackInfo) {
  let worstActivation = { label: '', p99: 0 };
  let worstRollback = { label: '', p99: 0 };
  console.log(
    `activation and rollback, ${ROUNDS} rounds per fault (time to the start of the first affected / clean request):`,
  );
  for (const scenario of list) {
    const { activationMs, rollbackMs } = await measureScenario(scenario, stack);
    console.log(
      `  ${scenario.label.padEnd(24)} activation ${format(activationMs)}; rollback ${format(rollbackMs)}`,
    );
    const activationP99 = quantile(activationMs, 0.99);
    const rollbackP99 = quantile(rollbackMs, 0.99);
    if (activationP99 > worstActivation.p99)
      worstActivation = { label: scenario.label, p99: activationP99 };
    if (rollbackP99 > worstRollback.p99)
      worstRollback = { label: scenario.label, p99: rollbackP99 };
  }
  if (!isRoot) console.log('  (network_loss packet skipped: iptables needs root)');
  return { worstActivation, worstRollback };
}

function describeBenchStack(
  service: { url: string; port: number },
  toxiproxyUrl: string,
  adminUrl: string,
): StackInfo {
  return stackInfoSchema.parse({
    kind: 'process',
    services: [
      { name: EDGE.caller, url: 'http://127.0.0.1:1', port: 1 },
      { name: EDGE.callee, url: service.url, port: service.port },
    ],
    edges: [{ ...EDGE, toxiproxyProxy: PROXY, httpProxyRoute: PROXY }],
    probeUrl: service.url,
    toxiproxyUrl,
    faultLayerUrl: adminUrl,
  });
}

async function main(): Promise<void> {
  await using toxiproxy = await startToxiproxyServer();
  const service = await startHttpService(Buffer.alloc(BODY_BYTES, 'x'));
  const dns = await startDnsServer();
  await using layer = await startFaultLayer({
    httpRoutes: [{ name: PROXY, targetUrl: service.url }],
    dnsForwarders: [{ name: EDGE.caller, upstream: { host: '127.0.0.1', port: dns.port } }],
  });
  try {
    const urls: BenchUrls = {
      proxy: `http://${await createProxy(toxiproxy.url, PROXY, `127.0.0.1:${service.port}`)}`,
      route: layer.httpRoutes[PROXY]!.url,
      direct: service.url,
      dnsPort: layer.dnsForwarders[EDGE.caller]!.port,
    };
    const stack = describeBenchStack(service, toxiproxy.url, layer.adminUrl);
    const added = reportOverhead(
      await measureOverhead({
        direct: `${urls.direct}/health`,
        toxiproxy: `${urls.proxy}/health`,
        'http-fault-proxy': `${urls.route}/health`,
      }),
    );
    const { worstActivation, worstRollback } = await reportScenarios(
      [...toxiproxyScenarios(urls), ...otherScenarios(urls)],
      stack,
    );
    const ratio = (name: string) =>
      `${added[name]!.addedP50.toFixed(2)} ms (${added[name]!.ratio.toFixed(2)}x direct)`;
    console.log(
      `SUMMARY network-faults: worst activation p99 ${worstActivation.p99.toFixed(1)} ms (${worstActivation.label}), ` +
        `worst rollback p99 ${worstRollback.p99.toFixed(1)} ms (${worstRollback.label}), ` +
        `toxiproxy added p50 ${ratio('toxiproxy')}, http-fault-proxy added p50 ${ratio('http-fault-proxy')}`,
    );
  } finally {
    await service.close();
    await dns.close();
  }
}

await main();
