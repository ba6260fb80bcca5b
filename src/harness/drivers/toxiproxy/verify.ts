import type { FaultPlan, Manifestation } from '../../faults/driver.ts';
import type { ToxiproxyApi } from './client.ts';
import type { ToxiproxyPlanData } from './index.ts';
import { loopbackAddress, probeHttp } from './probe.ts';

/** Maximum added latency the check measures with a real request, in milliseconds. */
const MAX_PROBED_LATENCY_MS = 3_000;
/** How long a partitioned request must hang to count as hanging, in milliseconds. */
const PARTITION_HANG_MS = 300;

/**
 * Sends one real request through the plan's first proxy and reports whether it shows the fault.
 * Returns undefined where one request cannot show it cheaply: a share of connections
 * (`network_loss`), a bandwidth cap, a slow fault, or a proxy not listening on loopback.
 */
export async function probeEffect(
  faultType: FaultPlan['faultType'],
  data: ToxiproxyPlanData,
  api: ToxiproxyApi,
): Promise<Manifestation | undefined> {
  if (!data.probe) return undefined;
  const proxy = await api.getProxy(data.probe.proxy);
  const address = proxy && loopbackAddress(proxy.listen);
  if (!address) return undefined;
  const path = data.probe.path;
  switch (faultType) {
    case 'latency':
      return probeLatency(data, address, path);
    case 'down': {
      const result = await probeHttp(address, path, 1_000);
      const manifested = result.error === 'ECONNREFUSED';
      return { manifested, detail: `GET ${proxy.listen}${path}: ${result.error ?? result.status}` };
    }
    case 'network_partition': {
      const result = await probeHttp(address, path, PARTITION_HANG_MS);
      const manifested = result.error === 'timeout';
      return {
        manifested,
        detail: `GET ${proxy.listen}${path} ${manifested ? 'hung' : `returned ${result.error ?? result.status}`} for ${Math.round(result.elapsedMs)} ms`,
      };
    }
    case 'connection_reset':
      return probeReset(data, address, path);
    default:
      return undefined;
  }
}

async function probeLatency(
  data: ToxiproxyPlanData,
  address: { host: string; port: number },
  path: string,
): Promise<Manifestation | undefined> {
  const latencyMs = Number(data.params.latencyMs ?? 0);
  const jitterMs = Number(data.params.jitterMs ?? 0);
  const streams = new Set(data.toxics.map((toxic) => toxic.stream)).size;
  const expectedMs = latencyMs * streams;
  if (expectedMs > MAX_PROBED_LATENCY_MS) return undefined;
  // A request crosses each toxic stream once, so it gains latency - jitter per stream at least;
  // 0.9 leaves room for timer granularity.
  const minimumMs = Math.max(0, (latencyMs - jitterMs) * streams * 0.9);
  const result = await probeHttp(address, path, expectedMs + jitterMs * streams + 2_000);
  return {
    manifested: result.elapsedMs >= minimumMs,
    detail: `GET ${path} through the proxy took ${Math.round(result.elapsedMs)} ms (at least ${Math.round(minimumMs)} ms expected)`,
  };
}

async function probeReset(
  data: ToxiproxyPlanData,
  address: { host: string; port: number },
  path: string,
): Promise<Manifestation | undefined> {
  const afterMs = Number(data.params.afterMs ?? 0);
  if (afterMs > MAX_PROBED_LATENCY_MS) return undefined;
  const result = await probeHttp(address, path, afterMs + 2_000);
  return {
    manifested: result.error === 'ECONNRESET',
    detail: `GET ${path} through the proxy: ${result.error ?? `status ${result.status}`}`,
  };
}
