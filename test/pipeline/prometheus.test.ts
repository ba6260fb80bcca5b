import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startPipeline, type RunningPipeline } from '../../fixtures/pipeline/index.ts';
import { World } from './support/world.ts';

const HAS_PROMETHEUS = spawnSync('prometheus', ['--version']).status === 0;

async function freePort(): Promise<number> {
  const server = createServer().listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address() as AddressInfo;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

async function waitFor(check: () => Promise<boolean>, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check().catch(() => false)) return;
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe.skipIf(!HAS_PROMETHEUS)('pipeline reading Prometheus', () => {
  const world = new World({ 'orders-svc': ['stock-db'] }, 'orders-svc', 9);
  let folder: string;
  let metricsServer: Server;
  let prometheus: ChildProcess;
  let pipeline: RunningPipeline;
  let traffic: NodeJS.Timeout;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), `pipeline-prom-${process.pid}-`));
    metricsServer = createServer((_request, response) => {
      void world.services
        .get('orders-svc')!
        .registry.metrics()
        .then((text) => response.end(text));
    }).listen(0, '127.0.0.1');
    await once(metricsServer, 'listening');
    traffic = setInterval(() => world.runSecond(3), 250);
    const metricsPort = (metricsServer.address() as AddressInfo).port;
    const prometheusPort = await freePort();
    const config = [
      'global: { scrape_interval: 1s, scrape_timeout: 500ms }',
      'scrape_configs:',
      `  - { job_name: orders-svc, static_configs: [{ targets: ['127.0.0.1:${metricsPort}'] }] }`,
      `  - { job_name: stock-db, static_configs: [{ targets: ['127.0.0.1:${await freePort()}'] }] }`,
    ].join('\n');
    await writeFile(join(folder, 'prometheus.yml'), config);
    prometheus = spawn(
      'prometheus',
      [
        `--config.file=${join(folder, 'prometheus.yml')}`,
        `--storage.tsdb.path=${join(folder, 'data')}`,
        `--web.listen-address=127.0.0.1:${prometheusPort}`,
      ],
      { stdio: 'ignore' },
    );
    const prometheusUrl = `http://127.0.0.1:${prometheusPort}`;
    await waitFor(async () => (await fetch(`${prometheusUrl}/-/ready`)).ok, 15_000);
    pipeline = await startPipeline({
      port: 0,
      prometheusUrl,
      targets: ['orders-svc', 'stock-db'].map((service) => ({
        service,
        metricsUrl: 'http://127.0.0.1:1/metrics',
      })),
      topology: { 'orders-svc': ['stock-db'] },
    });
  });

  afterAll(async () => {
    clearInterval(traffic);
    await pipeline?.stop();
    if (prometheus && prometheus.exitCode === null) {
      prometheus.kill('SIGTERM');
      await once(prometheus, 'exit');
    }
    metricsServer?.close();
    await rm(folder, { recursive: true, force: true });
  });

  it('alerts on the target Prometheus reports down', async () => {
    let alerts: { service: string; signal: string }[] = [];
    await waitFor(async () => {
      alerts = ((await (await fetch(`${pipeline.url}/alerts`)).json()) as { alerts: typeof alerts })
        .alerts;
      return alerts.length > 0;
    }, 20_000);
    expect(alerts.filter((alert) => alert.signal === 'up').map((alert) => alert.service)).toEqual([
      'stock-db',
    ]);
    expect(alerts.filter((alert) => alert.service === 'orders-svc')).toEqual([]);
  });
});
