import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const MAIN = join(import.meta.dirname, '../../fixtures/pipeline/main.ts');
const TSX = join(import.meta.dirname, '../../node_modules/.bin/tsx');

describe('pipeline main.ts', () => {
  let folder: string;

  beforeAll(async () => {
    folder = await mkdtemp(join(tmpdir(), `pipeline-main-${process.pid}-`));
  });

  afterAll(async () => {
    await rm(folder, { recursive: true, force: true });
  });

  it('prints its URL, serves, and exits cleanly on SIGTERM', async () => {
    const config = join(folder, 'config.json');
    await writeFile(config, JSON.stringify({ targets: [], topology: {} }));
    const child = spawn(TSX, [MAIN, '--config', config, '--port', '0'], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    try {
      const [line] = (await once(createInterface({ input: child.stdout }), 'line')) as [string];
      const ready = JSON.parse(line) as { url: string; port: number };
      expect(ready.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      const health = (await (await fetch(`${ready.url}/health`)).json()) as { status: string };
      expect(health.status).toBe('ok');
      child.kill('SIGTERM');
      const [code] = (await once(child, 'exit')) as [number | null];
      expect(code).toBe(0);
    } finally {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    }
  });

  it('exits with a message naming an invalid field', async () => {
    const config = join(folder, 'bad.json');
    await writeFile(
      config,
      JSON.stringify({ targets: [{ service: 'a', metricsUrl: 'not a url' }] }),
    );
    const child = spawn(TSX, [MAIN, '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const [code] = (await once(child, 'exit')) as [number | null];
    expect(code).toBe(1);
    expect(stderr).toContain('targets.0.metricsUrl');
    expect(stderr).toContain('"not a url"');
  });
});
