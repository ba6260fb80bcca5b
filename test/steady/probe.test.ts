import { spawn } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import {
  createProbeLogReader,
  formatProbeLine,
  parseProbeLine,
  startProbe,
  type ProbeCheck,
} from '../../src/harness/steady/probe.ts';
import { startTestService, temporaryFolder, waitUntil, type TestService } from './helpers.ts';

const folder = temporaryFolder('steady-probe');
let service: TestService;

beforeAll(async () => {
  service = await startTestService();
});
afterEach(() => {
  Object.assign(service.behaviour, { delayMs: 0, status: 200 });
});
afterAll(async () => {
  await service.stop();
  folder.remove();
});

const LINE = /^\d+\.\d{3} (pass \d+|fail \S+ \d+)$/;

describe('probe.log format', () => {
  it('formats pass and fail lines', () => {
    expect(
      formatProbeLine({ atMs: 1_700_000_000_123, pass: true, code: '200', latencyMs: 12.6 }),
    ).toBe('1700000000.123 pass 13\n');
    expect(
      formatProbeLine({ atMs: 1_700_000_000_000, pass: false, code: '503', latencyMs: 4 }),
    ).toBe('1700000000.000 fail 503 4\n');
  });

  it('parses its own lines and rejects others', () => {
    expect(parseProbeLine('1700000000.5 fail timeout 1000')).toEqual({
      atMs: 1_700_000_000_500,
      pass: false,
      code: 'timeout',
      latencyMs: 1_000,
    });
    expect(parseProbeLine('1700000000 pass 7')?.pass).toBe(true);
    expect(parseProbeLine('garbage')).toBeUndefined();
    expect(parseProbeLine('1700000000 pass')).toBeUndefined();
    expect(parseProbeLine('1700000000 maybe 7')).toBeUndefined();
  });
});

describe('startProbe', () => {
  it('appends one line per check as it goes', async () => {
    const logFile = join(folder.path, 'append', 'probe.log');
    await using probe = startProbe({ url: `${service.url}/health`, intervalMs: 100, logFile });
    expect(await waitUntil(() => probe.checks().length >= 3, 3_000)).toBe(true);
    // Lines are on disk while the probe still runs.
    const lines = readFileSync(logFile, 'utf8').trim().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(line).toMatch(LINE);
    expect(lines[0]).toContain(' pass ');
  });

  it('fails on a 500, a slow answer, a timeout and a refused connection', async () => {
    const logFile = join(folder.path, 'codes', 'probe.log');
    const codes = async (
      url: string,
      options: { latencyBoundMs?: number; timeoutMs?: number } = {},
    ) => {
      const probe = startProbe({ url, intervalMs: 1_000, logFile, ...options });
      await waitUntil(() => probe.checks().length >= 1, 5_000);
      await probe.stop();
      return probe.checks()[0];
    };
    service.behaviour.status = 500;
    expect(await codes(`${service.url}/health`)).toMatchObject({ pass: false, code: '500' });

    service.behaviour.status = 200;
    service.behaviour.delayMs = 150;
    const slow = await codes(`${service.url}/health`, { latencyBoundMs: 50, timeoutMs: 1_000 });
    expect(slow).toMatchObject({ pass: false, code: '200' });
    expect(slow?.latencyMs).toBeGreaterThanOrEqual(140);

    service.behaviour.delayMs = 600;
    const timedOut = await codes(`${service.url}/health`, { latencyBoundMs: 50, timeoutMs: 200 });
    expect(timedOut).toMatchObject({ pass: false, code: 'timeout' });
    expect(timedOut?.latencyMs).toBeLessThan(550);
    const refused = await codes(`http://127.0.0.1:${await closedPort()}/health`);
    expect(refused).toMatchObject({ pass: false, code: 'ECONNREFUSED' });

    const logged = readFileSync(logFile, 'utf8').trim().split('\n');
    expect(logged.map((line) => line.split(' ').slice(1, 3).join(' '))).toEqual([
      'fail 500',
      'fail 200',
      'fail timeout',
      'fail ECONNREFUSED',
    ]);
  });

  it('computes the pass rate of a window', async () => {
    const logFile = join(folder.path, 'window', 'probe.log');
    await using probe = startProbe({ url: `${service.url}/health`, intervalMs: 100, logFile });
    await waitUntil(() => probe.checks().length >= 5, 3_000);
    const failingFromMs = Date.now();
    service.behaviour.status = 503;
    await waitUntil(() => probe.checks().filter((check) => !check.pass).length >= 5, 3_000);
    await probe.stop();
    const checks = probe.checks();
    const byHand = (from: number, to: number) => {
      const inside = checks.filter((check) => check.atMs >= from && check.atMs <= to);
      return inside.filter((check) => check.pass).length / inside.length;
    };
    // A check that started just before the switch may still reach the server after it.
    expect(probe.passRate(0, failingFromMs - 100)).toBe(1);
    expect(probe.passRate(failingFromMs + 1)).toBe(0);
    expect(probe.passRate(0)).toBeCloseTo(byHand(0, Date.now()), 10);
    expect(probe.passRate(Date.now() + 1_000)).toBeNull();
  });
});

describe('createProbeLogReader', () => {
  it('reads a probe running in another process', async () => {
    const logFile = join(folder.path, 'child', 'probe.log');
    const reader = createProbeLogReader(logFile);
    expect(reader.passRate(0)).toBeNull();
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        join(import.meta.dirname, 'probe-child.ts'),
        `${service.url}/health`,
        logFile,
        '100',
        '2500',
      ],
      { stdio: ['ignore', 'pipe', 'inherit'] },
    );
    let stdout = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', resolve));

    try {
      // Read while the child still appends, then make the service fail half way.
      expect(await waitUntil(() => reader.checks().length >= 3, 8_000)).toBe(true);
      expect(reader.passRate(0)).toBe(1);
      service.behaviour.status = 500;
      expect(await waitUntil(() => reader.checks().some((check) => !check.pass), 5_000)).toBe(true);
      expect(await exited).toBe(0);
    } finally {
      if (child.exitCode === null) child.kill('SIGTERM');
    }

    const childChecks = JSON.parse(stdout) as ProbeCheck[];
    const read = reader.checks();
    expect(read).toHaveLength(childChecks.length);
    for (const [index, check] of read.entries()) {
      expect(check.pass).toBe(childChecks[index]?.pass);
      expect(check.atMs).toBe(childChecks[index]?.atMs);
    }
    const passed = childChecks.filter((check) => check.pass).length;
    expect(reader.passRate(0)).toBeCloseTo(passed / childChecks.length, 10);
  });

  it('waits for the end of a partial line and skips garbage', () => {
    const logFile = join(folder.path, 'partial.log');
    writeFileSync(logFile, '1700000000.000 pass 5\nnot a probe line\n1700000001.000 fa');
    const reader = createProbeLogReader(logFile);
    expect(reader.checks()).toHaveLength(1);
    appendFileSync(logFile, 'il 503 9\n');
    expect(reader.checks().map((check) => check.code)).toEqual(['200', '503']);
    expect(reader.passRate(1_700_000_000_000, 1_700_000_001_000)).toBe(0.5);
  });

  it('starts over when the file is replaced by a shorter one', () => {
    const logFile = join(folder.path, 'replaced.log');
    writeFileSync(logFile, '1700000000.000 pass 5\n1700000001.000 pass 5\n');
    const reader = createProbeLogReader(logFile);
    expect(reader.checks()).toHaveLength(2);
    writeFileSync(logFile, '1700000002.000 fail 500 5\n');
    expect(reader.checks()).toHaveLength(1);
    expect(reader.passRate(0, 1_800_000_000_000)).toBe(0);
  });
});

async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : 0;
  await new Promise((resolve) => server.close(resolve));
  await sleep(10);
  return port;
}
