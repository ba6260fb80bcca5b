import { Counter, Gauge, Histogram, Registry } from 'prom-client';
import { parseExposition } from '../../../fixtures/pipeline/exposition.ts';
import type { MetricSource, ScrapeResult } from '../../../fixtures/pipeline/scraper.ts';

/** Bucket bounds of the embedded stack's latency histograms, in seconds. */
export const LATENCY_BUCKETS_S = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.8, 1, 2, 3, 5, 10];

/** Deterministic pseudo-random numbers in [0, 1) (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/** A fault the simulated world applies while it holds. */
export interface WorldFault {
  /** Extra latency of the service's own work, in seconds. */
  addedLatencyS?: number;
  /** Share of the service's requests that fail with 500. */
  errorShare?: number;
  /** The process is gone: calls are refused and its metrics cannot be scraped. */
  down?: boolean;
  /** Event-loop lag the service reports, in seconds; its work slows by the same amount. */
  eventLoopLagS?: number;
  /** Memory used against the limit, 0..1. */
  memoryRatio?: number;
}

/** A fault on one caller to callee edge, acting on the connection, not on either process. */
export interface EdgeFault {
  errorShare?: number;
  addedLatencyS?: number;
}

class SimulatedService {
  readonly registry = new Registry();
  readonly serverRequests = new Counter({
    name: 'http_server_requests_total',
    help: 'requests',
    labelNames: ['route', 'method', 'status'],
    registers: [this.registry],
  });
  readonly serverDuration = new Histogram({
    name: 'http_server_request_duration_seconds',
    help: 'latency',
    labelNames: ['route', 'method'],
    buckets: LATENCY_BUCKETS_S,
    registers: [this.registry],
  });
  readonly clientRequests = new Counter({
    name: 'http_client_requests_total',
    help: 'calls',
    labelNames: ['peer', 'status'],
    registers: [this.registry],
  });
  readonly clientDuration = new Histogram({
    name: 'http_client_request_duration_seconds',
    help: 'call latency',
    labelNames: ['peer'],
    buckets: LATENCY_BUCKETS_S,
    registers: [this.registry],
  });
  readonly clientRetries = new Counter({
    name: 'http_client_retries_total',
    help: 'retries',
    labelNames: ['peer'],
    registers: [this.registry],
  });
  readonly eventLoopLag = new Gauge({
    name: 'nodejs_eventloop_lag_p99_seconds',
    help: 'lag',
    registers: [this.registry],
  });
  readonly memoryUsed = new Gauge({
    name: 'memory_used_bytes',
    help: 'memory',
    registers: [this.registry],
  });
  readonly memoryLimit = new Gauge({
    name: 'memory_limit_bytes',
    help: 'limit',
    registers: [this.registry],
  });

  constructor(readonly name: string) {
    this.memoryLimit.set(160 * 1024 * 1024);
  }
}

/**
 * A small simulated service mesh that exports the embedded stack's metric names through real
 * prom-client registries. Requests enter at `entry`, every service calls each of its callees
 * once, retries a failed call up to twice, and answers 502 when a callee still fails. The
 * baseline is noisy: latency is exponential around a few milliseconds and about one request in
 * 300 takes 150 to 400 ms.
 */
export class World {
  readonly services = new Map<string, SimulatedService>();
  readonly faults = new Map<string, WorldFault>();
  readonly edgeFaults = new Map<string, EdgeFault>();
  readonly #random: () => number;

  constructor(
    readonly topology: Record<string, string[]>,
    readonly entry: string,
    seed = 1,
  ) {
    this.#random = seededRandom(seed);
    const names = new Set([...Object.keys(topology), ...Object.values(topology).flat()]);
    for (const name of names) this.services.set(name, new SimulatedService(name));
  }

  /** Sends `count` requests through the entry service and refreshes the gauges. */
  runSecond(count: number): void {
    for (let i = 0; i < count; i += 1) this.#handle(this.entry);
    for (const service of this.services.values()) {
      const fault = this.faults.get(service.name) ?? {};
      service.eventLoopLag.set(fault.eventLoopLagS ?? 0.011 + this.#random() * 0.004);
      service.memoryUsed.set(
        (fault.memoryRatio ?? 0.3 + this.#random() * 0.02) * 160 * 1024 * 1024,
      );
    }
  }

  /** A metric source that reads the registries in-process at the given clock. */
  source(now: () => number): MetricSource {
    return {
      scrape: async (): Promise<ScrapeResult[]> =>
        Promise.all(
          [...this.services.values()].map(async (service): Promise<ScrapeResult> => {
            if (this.faults.get(service.name)?.down)
              return { service: service.name, ok: false, atMs: now(), error: 'ECONNREFUSED' };
            return {
              service: service.name,
              ok: true,
              snapshot: { atMs: now(), index: parseExposition(await service.registry.metrics()) },
            };
          }),
        ),
    };
  }

  #noise(): number {
    if (this.#random() < 1 / 300) return 0.15 + this.#random() * 0.25;
    return 0.002 - Math.log(1 - this.#random()) * 0.004;
  }

  /** Handles one request at `name`; returns its latency in seconds and whether it failed. */
  #handle(name: string): { latencyS: number; failed: boolean } {
    const service = this.services.get(name);
    const fault = this.faults.get(name) ?? {};
    if (!service || fault.down) return { latencyS: 0.001, failed: true };
    let latencyS = this.#noise() + (fault.addedLatencyS ?? 0) + (fault.eventLoopLagS ?? 0);
    let failed = this.#random() < (fault.errorShare ?? 0);
    for (const callee of this.topology[name] ?? []) {
      const call = this.#callWithRetries(service, callee);
      latencyS += call.latencyS;
      failed ||= call.failed;
    }
    const status = failed ? (fault.errorShare ? '500' : '502') : '200';
    service.serverRequests.inc({ route: '/api', method: 'GET', status });
    service.serverDuration.observe({ route: '/api', method: 'GET' }, latencyS);
    return { latencyS, failed };
  }

  #callWithRetries(
    caller: SimulatedService,
    callee: string,
  ): { latencyS: number; failed: boolean } {
    let latencyS = 0;
    for (let attempt = 0; attempt < 3; attempt += 1) {
      if (attempt > 0) caller.clientRetries.inc({ peer: callee });
      const edge = this.edgeFaults.get(`${caller.name}__${callee}`) ?? {};
      const refused = this.faults.get(callee)?.down === true;
      const injected = this.#random() < (edge.errorShare ?? 0);
      const result = refused || injected ? { latencyS: 0.001, failed: true } : this.#handle(callee);
      const callLatencyS = result.latencyS + (edge.addedLatencyS ?? 0);
      const status = refused ? 'error' : injected ? '500' : result.failed ? '502' : '200';
      caller.clientRequests.inc({ peer: callee, status });
      caller.clientDuration.observe({ peer: callee }, callLatencyS);
      latencyS += callLatencyS;
      if (status === '200') return { latencyS, failed: false };
    }
    return { latencyS, failed: true };
  }
}

/** The demo stack's request graph, used as configuration by the tests. */
export const DEMO_TOPOLOGY: Record<string, string[]> = {
  frontend: ['api-gateway'],
  'api-gateway': ['payment-svc', 'inventory-svc', 'notification-svc', 'checkout-svc'],
  'payment-svc': ['payment-db'],
  'inventory-svc': ['inventory-db'],
  'notification-svc': ['kafka'],
  'checkout-svc': ['payment-svc', 'inventory-svc'],
};
