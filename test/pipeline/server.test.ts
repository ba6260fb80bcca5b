import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline, type RunningPipeline } from '../../fixtures/pipeline/index.ts';
import { World } from './support/world.ts';

const TOPOLOGY = { 'orders-svc': ['stock-db'] };

/** Serves the registry of one simulated service at /metrics on a free loopback port. */
async function serveMetrics(world: World, service: string): Promise<Server> {
  const server = createServer((request, response) => {
    void world.services
      .get(service)!
      .registry.metrics()
      .then((text) => response.end(text));
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return server;
}

/** Returns a loopback port that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function postJson(
  url: string,
  body: string,
): Promise<{ status: number; json: Record<string, unknown> }> {
  const response = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body,
  });
  return { status: response.status, json: (await response.json()) as Record<string, unknown> };
}

function errorMessage(json: Record<string, unknown>): string {
  return (json.error as { message: string }).message;
}

describe('pipeline HTTP API', () => {
  const world = new World(TOPOLOGY, 'orders-svc', 5);
  let metricsServer: Server;
  let pipeline: RunningPipeline;
  let traffic: NodeJS.Timeout;

  beforeAll(async () => {
    metricsServer = await serveMetrics(world, 'orders-svc');
    traffic = setInterval(() => world.runSecond(2), 200);
    const { port } = metricsServer.address() as AddressInfo;
    pipeline = await startPipeline({
      port: 0,
      targets: [
        { service: 'orders-svc', metricsUrl: `http://127.0.0.1:${port}/metrics` },
        { service: 'stock-db', metricsUrl: `http://127.0.0.1:${await closedPort()}/metrics` },
      ],
      topology: TOPOLOGY,
      scrapeIntervalMs: 200,
      scrapeTimeoutMs: 150,
      minDurationMs: 600,
    });
    const deadline = Date.now() + 10_000;
    while (Date.now() < deadline) {
      const body = (await (await fetch(`${pipeline.url}/alerts`)).json()) as { alerts: unknown[] };
      if (body.alerts.length > 0) break;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  });

  afterAll(async () => {
    clearInterval(traffic);
    await pipeline?.stop();
    metricsServer?.close();
  });

  it('reports health with its clock in unix seconds', async () => {
    const body = (await (await fetch(`${pipeline.url}/health`)).json()) as {
      status: string;
      time: number;
    };
    expect(body.status).toBe('ok');
    expect(Math.abs(body.time - Date.now() / 1000)).toBeLessThan(5);
  });

  it('alerts on a target it cannot scrape', async () => {
    const body = (await (await fetch(`${pipeline.url}/alerts?since=0`)).json()) as {
      alerts: Record<string, unknown>[];
    };
    const up = body.alerts.filter((alert) => alert.service === 'stock-db' && alert.signal === 'up');
    expect(up).toHaveLength(1);
    expect(up[0]).toMatchObject({ severity: 'critical', observed: 0, expected: 1 });
    expect(typeof up[0]!.fired_at).toBe('number');
    expect(Math.abs((up[0]!.fired_at as number) - Date.now() / 1000)).toBeLessThan(30);
    expect(body.alerts.filter((alert) => alert.service === 'orders-svc')).toEqual([]);
  });

  it('filters alerts by since', async () => {
    const all = (await (await fetch(`${pipeline.url}/alerts`)).json()) as {
      alerts: { fired_at: number }[];
    };
    const firedAt = all.alerts[0]!.fired_at;
    const after = (await (
      await fetch(`${pipeline.url}/alerts?since=${firedAt + 0.001}`)
    ).json()) as { alerts: unknown[] };
    const from = (await (await fetch(`${pipeline.url}/alerts?since=${firedAt}`)).json()) as {
      alerts: unknown[];
    };
    expect(after.alerts).toHaveLength(0);
    expect(from.alerts).toHaveLength(all.alerts.length);
  });

  it('rejects an invalid since with the value', async () => {
    const response = await fetch(`${pipeline.url}/alerts?since=yesterday`);
    expect(response.status).toBe(400);
    const message = errorMessage((await response.json()) as Record<string, unknown>);
    expect(message).toContain('since');
    expect(message).toContain('"yesterday"');
  });

  it('correlates and analyses the dead target', async () => {
    const nowS = Date.now() / 1000;
    const { status, json } = await postJson(
      `${pipeline.url}/correlate`,
      JSON.stringify({ window: { start: nowS - 60, end: nowS + 1 } }),
    );
    expect(status).toBe(200);
    const clusters = json.clusters as { id: string; alert_ids: string[]; services: string[] }[];
    expect(clusters).toHaveLength(1);
    expect(clusters[0]!.services).toEqual(['stock-db']);
    const rca = await postJson(`${pipeline.url}/rca`, JSON.stringify({ cluster: clusters[0] }));
    expect(rca.status).toBe(200);
    expect(rca.json.root_service).toBe('stock-db');
    expect(rca.json.confidence).toBeGreaterThan(0);
    expect(rca.json.ranked).toEqual([expect.objectContaining({ service: 'stock-db' })]);
  });

  it('answers an unknown cluster with no root', async () => {
    const { status, json } = await postJson(
      `${pipeline.url}/rca`,
      JSON.stringify({ cluster: { id: 'x', alert_ids: ['nope'], services: [] } }),
    );
    expect(status).toBe(200);
    expect(json.root_service).toBeNull();
    expect(json.confidence).toBe(0);
  });

  it.each([
    ['a missing window', '{}', ['window', 'received nothing']],
    [
      'a text start',
      '{"window": {"start": "noon", "end": 5}}',
      ['window.start', 'unix seconds', '"noon"'],
    ],
    ['start after end', '{"window": {"start": 9, "end": 5}}', ['window', 'start <= end']],
    ['invalid JSON', '{"window": ', ['not valid JSON']],
  ])('rejects /correlate with %s', async (_name, body, fragments) => {
    const { status, json } = await postJson(`${pipeline.url}/correlate`, body);
    expect(status).toBe(400);
    for (const fragment of fragments) expect(errorMessage(json)).toContain(fragment);
  });

  it('rejects /rca without alert ids', async () => {
    const { status, json } = await postJson(`${pipeline.url}/rca`, '{"cluster": {"id": "c1"}}');
    expect(status).toBe(400);
    expect(errorMessage(json)).toContain('cluster.alert_ids');
  });

  it('answers unknown routes and methods', async () => {
    expect((await fetch(`${pipeline.url}/nothing`)).status).toBe(404);
    expect((await fetch(`${pipeline.url}/correlate`)).status).toBe(405);
  });
});
