import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import client from 'prom-client';
import { stackInfoSchema, type StackInfo } from '../../src/harness/stack-info.ts';

/** Bucket bounds of the embedded stack's latency histograms, in seconds. */
export const LATENCY_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.8, 1, 2, 3, 5, 10];

/** What a test service does right now; tests change it to make the service sick or heal it. */
export interface ServiceBehaviour {
  /** Added to every `/health` and `/work` response, in ms. */
  delayMs: number;
  /** Status of `/health` and `/work`. */
  status: number;
  /** Serve an HTML page instead of Prometheus text at `/metrics`. */
  garbageMetrics: boolean;
}

/** A real HTTP service with prom-client metrics named as in the embedded stack. */
export interface TestService {
  name: string;
  url: string;
  port: number;
  behaviour: ServiceBehaviour;
  /** Values the `test_queue_depth` gauge took, one per scrape, in order. */
  gaugeValues: number[];
  stop(): Promise<void>;
}

/**
 * Starts a service on 127.0.0.1 with a free port. `/health` and `/work` respond after
 * `behaviour.delayMs` with `behaviour.status`; `/metrics` serves prom-client text, and each
 * scrape sets `test_queue_depth` to the next value of a fixed sequence.
 */
export async function startTestService(name = 'checkout-svc'): Promise<TestService> {
  const registry = new client.Registry();
  const duration = new client.Histogram({
    name: 'http_server_request_duration_seconds',
    help: 'server latency',
    labelNames: ['route', 'method'],
    buckets: LATENCY_BUCKETS,
    registers: [registry],
  });
  const requests = new client.Counter({
    name: 'http_server_requests_total',
    help: 'requests served',
    labelNames: ['route', 'method', 'status'],
    registers: [registry],
  });
  const gaugeValues: number[] = [];
  new client.Gauge({
    name: 'test_queue_depth',
    help: 'a gauge that changes on every scrape',
    registers: [registry],
    collect() {
      const value = ((gaugeValues.length * 37) % 100) + 1;
      gaugeValues.push(value);
      this.set(value);
    },
  });
  const behaviour: ServiceBehaviour = { delayMs: 0, status: 200, garbageMetrics: false };

  const server = http.createServer((request, response) => {
    const route = new URL(request.url ?? '/', 'http://localhost').pathname;
    if (route === '/metrics') {
      if (behaviour.garbageMetrics) {
        response
          .writeHead(200, { 'content-type': 'text/html' })
          .end('<html><body>oops</body></html>');
        return;
      }
      void registry.metrics().then((text) => {
        response.writeHead(200, { 'content-type': registry.contentType }).end(text);
      });
      return;
    }
    const stopTimer = duration.startTimer({ route, method: request.method ?? 'GET' });
    const { delayMs, status } = behaviour;
    setTimeout(() => {
      response
        .writeHead(status, { 'content-type': 'text/plain' })
        .end(status === 200 ? 'ok' : 'failing');
      stopTimer();
      requests.inc({ route, method: request.method ?? 'GET', status: String(status) });
    }, delayMs);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    name,
    url: `http://127.0.0.1:${port}`,
    port,
    behaviour,
    gaugeValues,
    stop: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

/** Sends GET requests to `url` at a steady rate until stopped, as a bounded workload. */
export function startLoad(url: string, ratePerSecond: number): { stop(): Promise<void> } {
  let stopped = false;
  const pending = new Set<Promise<unknown>>();
  const timer = setInterval(() => {
    if (stopped) return;
    const request = fetch(url, { signal: AbortSignal.timeout(5_000) })
      .then((response) => response.arrayBuffer())
      .catch(() => undefined);
    pending.add(request);
    void request.finally(() => pending.delete(request));
  }, 1_000 / ratePerSecond);
  return {
    async stop() {
      stopped = true;
      clearInterval(timer);
      await Promise.all(pending);
    },
  };
}

/** Builds the stack description the sampler reads from a few test services. */
export function stackOf(services: TestService[]): StackInfo {
  return stackInfoSchema.parse({
    kind: 'process',
    services: services.map((service) => ({
      name: service.name,
      url: service.url,
      port: service.port,
    })),
    probeUrl: `${services[0]?.url ?? 'http://127.0.0.1:1'}/health`,
  });
}

/** Creates a unique temporary folder and returns it with a function that removes it. */
export function temporaryFolder(prefix: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `${prefix}-${process.pid}-`));
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

/** Polls `check` every 100 ms until it returns true or `timeoutMs` passes. */
export async function waitUntil(
  check: () => boolean | Promise<boolean>,
  timeoutMs: number,
): Promise<boolean> {
  const endMs = Date.now() + timeoutMs;
  while (Date.now() < endMs) {
    if (await check()) return true;
    await sleep(100);
  }
  return check();
}
