import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { runCli } from './support/cli.ts';
import { processState } from './support/drivers.ts';

const DRIVERS = new URL('./support/drivers.ts', import.meta.url).href;

let dir: string;
let victim: ChildProcess;

function cli(...args: string[]) {
  return runCli(args, { cwd: dir });
}

function cliWithEnv(env: NodeJS.ProcessEnv, ...args: string[]) {
  return runCli(args, { cwd: dir, env });
}

describe('vitest-chaos command', () => {
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'chaos-cli-'));
    victim = spawn('sleep', ['60'], { stdio: 'ignore' });
    process.kill(victim.pid ?? 0, 'SIGSTOP');
    const journalDir = join(dir, '.chaos/journal');
    mkdirSync(journalDir, { recursive: true });
    const entry = {
      version: 1,
      id: 'e1',
      runId: 'run',
      pid: process.pid,
      createdAtMs: Date.now(),
      experimentKey: 'k',
      plan: {
        driver: 'test-sigstop',
        mechanism: 'SIGSTOP',
        faultType: 'process_pause',
        target: 'victim',
        data: { pid: victim.pid ?? 0 },
      },
      driverModule: DRIVERS,
    };
    writeFileSync(join(journalDir, 'e1.json'), JSON.stringify(entry));
  });
  afterEach(() => {
    victim.kill('SIGCONT');
    victim.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  it('lists active faults with their real state', () => {
    const { code, output } = cli('status');
    expect(code, output).toBe(0);
    expect(output).toContain('process_pause on victim via test-sigstop (SIGSTOP)');
    expect(output).toContain('state: active');
  });

  it('rolls back every fault on cleanup', () => {
    const { code, output } = cli('cleanup');
    expect(code, output).toBe(0);
    expect(output).toContain('rolled back process_pause on victim (e1)');
    // The entry names this test process as its runner, which is alive.
    expect(output).toContain(`warning: e1 belonged to run run, whose process ${process.pid}`);
    expect(processState(victim.pid ?? 0)).not.toBe('T');
    expect(readdirSync(join(dir, '.chaos/journal'))).toEqual([]);
    expect(cli('status').output).toContain('No active faults');
  });

  it('reports an invalid setting without a stack trace', () => {
    const { code, output } = cliWithEnv({ CHAOS_PROFILE: 'bogus' }, 'status');
    expect(code).toBe(2);
    expect(output).toContain('Invalid CHAOS_PROFILE="bogus". Set it to one of: quick, full.');
    expect(output).not.toContain('    at ');
  });

  it.each([
    ['run', ['compare', 'a.json', 'b.json', '--run', 'r1'], 'cleanup reads'],
    ['json', ['cleanup', '--json'], 'status and compare read'],
    ['run', ['status', '--run', 'r1'], 'cleanup reads'],
  ])('rejects --%s on %j', (option, args, readers) => {
    const { code, output } = cli(...args);
    expect(code).toBe(2);
    expect(output).toContain(`Option --${option} does not apply to ${args[0]}`);
    expect(output).toContain(`only ${readers} it`);
    expect(readdirSync(join(dir, '.chaos/journal'))).toEqual(['e1.json']);
  });

  it.each(['constructor', 'toString'])('rejects the command name %s', (command) => {
    const { code, output } = cli(command, '--run', 'r1');
    expect(code).toBe(2);
    expect(output).toContain(`Unknown command "${command}"`);
    expect(output).not.toContain('    at ');
  });

  it('rejects an empty run id', () => {
    const { code, output } = cli('cleanup', '--run', '');
    expect(code).toBe(2);
    expect(output).toContain('Invalid --run: it is empty.');
    expect(readdirSync(join(dir, '.chaos/journal'))).toEqual(['e1.json']);
  });

  it('loads --driver-module for status', () => {
    // An entry without its driver's module: only --driver-module can register the driver.
    const file = join(dir, '.chaos/journal/e1.json');
    const { driverModule: _unused, ...entry } = JSON.parse(readFileSync(file, 'utf8'));
    writeFileSync(file, JSON.stringify(entry));
    expect(cli('status').output).toContain('state: unknown (driver not registered)');
    const { code, output } = cli('status', '--driver-module', DRIVERS);
    expect(code, output).toBe(0);
    expect(output).toContain('state: active');
  });

  it('rejects an unknown command', () => {
    const { code, output } = cli('explode');
    expect(code).toBe(2);
    expect(output).toContain('Unknown command "explode"');
  });
});
