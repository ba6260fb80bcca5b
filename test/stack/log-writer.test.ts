import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LogWriter } from '../../fixtures/stack/runtime/services/log-collector.ts';

// A real 256 KiB tmpfs, so the writer meets a real ENOSPC.
let root: string;
let volume: string;

beforeAll(() => {
  root = mkdtempSync(join(tmpdir(), 'log-writer-'));
  volume = join(root, 'volume');
  mkdirSync(volume);
  execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=256k', 'tmpfs', volume]);
});

afterAll(() => {
  execFileSync('umount', [volume]);
  rmSync(root, { recursive: true, force: true });
});

describe('LogWriter', () => {
  it('reports ENOSPC and survives it', async () => {
    const codes: string[] = [];
    let writtenLines = 0;
    const writer = new LogWriter(volume, {
      onWritten: (count) => (writtenLines += count),
      onError: (code) => codes.push(code),
    });
    const chunk = `${'x'.repeat(1023)}\n`.repeat(32);
    const results: boolean[] = [];
    for (let index = 0; index < 16; index += 1) results.push(await writer.write(chunk, 32));
    await writer.close();
    expect(results.slice(0, 4)).toEqual([true, true, true, true]);
    expect(results.at(-1)).toBe(false);
    expect(codes).toContain('ENOSPC');
    expect(writtenLines).toBeGreaterThan(0);
  });
});
