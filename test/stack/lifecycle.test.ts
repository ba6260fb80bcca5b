import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { afterAll, describe, expect, it } from 'vitest';
import { startToxiproxyServer } from '../../src/harness/drivers/toxiproxy/server.ts';
import { eventually, mountsMatching, pidsMatching } from './helpers.ts';

const children: ChildProcess[] = [];

/** Starts a TypeScript entry with tsx and resolves with its output lines up to `until`. */
function startTs(args: string[], until: RegExp): Promise<{ child: ChildProcess; lines: string[] }> {
  const child = spawn(process.execPath, ['--import', 'tsx', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  const lines: string[] = [];
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`no ${until} in: ${lines.join('\n')}`)),
      30_000,
    );
    child.once('exit', (code) => reject(new Error(`exited with ${code}: ${lines.join('\n')}`)));
    child.stderr?.on('data', () => undefined);
    createInterface({ input: child.stdout! }).on('line', (line) => {
      lines.push(line);
      if (until.test(line)) {
        clearTimeout(timer);
        resolve({ child, lines });
      }
    });
  });
}

function exitOf(child: ChildProcess): Promise<number | null> {
  if (child.exitCode !== null) return Promise.resolve(child.exitCode);
  return new Promise((resolve) => child.once('exit', (code) => resolve(code)));
}

function valueAfter(lines: string[], label: string): string {
  const line = lines.find((candidate) => candidate.trim().startsWith(label));
  return line?.trim().slice(label.length).trim() ?? '';
}

afterAll(() => {
  for (const child of children) if (child.exitCode === null) child.kill('SIGKILL');
});

describe('npm run stack', () => {
  for (const signal of ['SIGINT', 'SIGTERM'] as const) {
    it(`stops everything on ${signal}`, async () => {
      const { child, lines } = await startTs(
        ['fixtures/stack/cli.ts', '--no-pipeline', '--rate', '2'],
        /press Ctrl-C/,
      );
      const stateDir = valueAfter(lines, 'state folder');
      const toxiproxyPort = new URL(valueAfter(lines, 'toxiproxy')).port;
      expect(lines.filter((line) => line.includes('http://127.0.0.1:'))).toHaveLength(17);
      expect(pidsMatching(stateDir).length).toBeGreaterThanOrEqual(14);
      child.kill(signal);
      expect(await exitOf(child)).toBe(0);
      expect(pidsMatching(stateDir)).toEqual([]);
      expect(pidsMatching(`-port ${toxiproxyPort}`)).toEqual([]);
      expect(mountsMatching(stateDir)).toEqual([]);
      expect(existsSync(stateDir)).toBe(false);
    });
  }
});

describe('startStack', () => {
  it('stops when its process is killed', async () => {
    await using toxiproxy = await startToxiproxyServer();
    const stateDir = mkdtempSync(join(tmpdir(), 'stack-killed-'));
    try {
      const { child } = await startTs(
        ['test/stack/start-stack-child.ts', toxiproxy.url, stateDir],
        /^READY/,
      );
      expect(pidsMatching(stateDir).length).toBeGreaterThanOrEqual(14);
      const { memoryCgroupRoot } = JSON.parse(
        readFileSync(join(stateDir, 'stack-config.json'), 'utf8'),
      ) as {
        memoryCgroupRoot?: string;
      };
      child.kill('SIGKILL');
      await eventually(
        () => pidsMatching(stateDir),
        (pids) => pids.length === 0,
        10_000,
      );
      await eventually(
        () => mountsMatching(stateDir),
        (mounts) => mounts.length === 0,
        5_000,
      );
      expect(memoryCgroupRoot).toBeDefined();
      expect(existsSync(memoryCgroupRoot!)).toBe(false);
      expect(existsSync(stateDir)).toBe(true);
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  });

  it('removes its temp folder when killed', async () => {
    await using toxiproxy = await startToxiproxyServer();
    const { child, lines } = await startTs(
      ['test/stack/start-stack-child.ts', toxiproxy.url],
      /^READY/,
    );
    const stateDir = lines.find((line) => line.startsWith('READY'))!.slice('READY '.length);
    expect(existsSync(stateDir)).toBe(true);
    child.kill('SIGKILL');
    await eventually(
      () => existsSync(stateDir),
      (exists) => !exists,
      10_000,
    );
    expect(pidsMatching(stateDir)).toEqual([]);
  });
});
