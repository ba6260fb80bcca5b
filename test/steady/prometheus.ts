import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { temporaryFolder, waitUntil } from './helpers.ts';

/** A Prometheus server started by a test on 127.0.0.1 with its own data folder. */
export interface TestPrometheus {
  url: string;
  pid: number;
  stop(): Promise<void>;
}

async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise((resolve) => server.close(resolve));
  return port;
}

/**
 * Starts Debian's `prometheus` binary scraping `targets` (host:port) every second, and waits
 * until it is ready. Needs `apt-get install prometheus`.
 */
export async function startPrometheus(targets: string[]): Promise<TestPrometheus> {
  const folder = temporaryFolder('steady-prometheus');
  const config = [
    'global:',
    '  scrape_interval: 1s',
    '  evaluation_interval: 1s',
    'scrape_configs:',
    '  - job_name: test',
    '    static_configs:',
    `      - targets: [${targets.map((target) => `'${target}'`).join(', ')}]`,
    '',
  ].join('\n');
  writeFileSync(join(folder.path, 'prometheus.yml'), config);
  const port = await freePort();
  const child: ChildProcess = spawn(
    'prometheus',
    [
      `--config.file=${join(folder.path, 'prometheus.yml')}`,
      `--storage.tsdb.path=${join(folder.path, 'data')}`,
      `--web.listen-address=127.0.0.1:${port}`,
    ],
    { stdio: ['ignore', 'ignore', 'pipe'] },
  );
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4_000)));
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const stop = async (): Promise<void> => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGTERM');
    await exited;
    folder.remove();
  };
  const url = `http://127.0.0.1:${port}`;
  const ready = await waitUntil(async () => {
    if (child.exitCode !== null) return false;
    try {
      return (await fetch(`${url}/-/ready`)).status === 200;
    } catch {
      return false;
    }
  }, 15_000);
  if (!ready || child.pid === undefined) {
    await stop();
    throw new Error(`Prometheus did not become ready on ${url}: ${stderr}`);
  }
  return { url, pid: child.pid, stop };
}
