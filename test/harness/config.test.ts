import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { loadConfig, PROFILES, scaleFaultDurationMs } from '../../src/harness/config.ts';
import { ConfigError } from '../../src/harness/errors.ts';

let cwd: string;

describe('loadConfig', () => {
  beforeEach(() => {
    cwd = mkdtempSync(join(tmpdir(), 'chaos-config-'));
  });
  afterEach(() => rmSync(cwd, { recursive: true, force: true }));

  it('uses the defaults without a file', () => {
    const config = loadConfig({ cwd, env: {} });
    expect(config.profile).toEqual(PROFILES.quick);
    expect(config.catalog).toBe(join(cwd, 'fixtures/experiments.yaml'));
    expect(config.resultsDir).toBe(join(cwd, 'chaos-results'));
    expect(config.journalDir).toBe(join(cwd, '.chaos/journal'));
    expect(config.target).toBe('process');
    expect(config.pipelineUrl).toBeUndefined();
    expect(config.gate).toEqual({
      enabled: true,
      minDetectedRatio: 0.7,
      minRcaRatio: 0.7,
      maxFalseAlarms: 1,
    });
  });

  it('lets the environment override the file', () => {
    writeFileSync(
      join(cwd, 'chaos.config.json'),
      JSON.stringify({
        profile: 'quick',
        pipelineUrl: 'http://127.0.0.1:8000',
        gate: { minDetectedRatio: 0.9 },
      }),
    );
    const config = loadConfig({
      cwd,
      env: {
        CHAOS_PROFILE: 'full',
        CHAOS_PIPELINE_URL: 'http://127.0.0.1:9000/',
        CHAOS_GATE: 'off',
        CHAOS_TARGET: 'docker',
        CHAOS_CATALOG: 'mine.yaml',
      },
    });
    expect(config.profile.name).toBe('full');
    expect(config.pipelineUrl).toBe('http://127.0.0.1:9000');
    expect(config.gate.enabled).toBe(false);
    expect(config.gate.minDetectedRatio).toBe(0.9);
    expect(config.target).toBe('docker');
    expect(config.catalog).toBe(join(cwd, 'mine.yaml'));
  });

  it('reads the file CHAOS_CONFIG names', () => {
    writeFileSync(
      join(cwd, 'short.json'),
      JSON.stringify({ profileOverrides: { baselineCaptureMs: 3_000, baselineWindowMs: 2_000 } }),
    );
    const config = loadConfig({ cwd, env: { CHAOS_CONFIG: 'short.json' } });
    expect(config.file).toBe(join(cwd, 'short.json'));
    expect(config.profile.baselineCaptureMs).toBe(3_000);
    expect(config.profile.baselineWindowMs).toBe(2_000);
    expect(config.profile.probeIntervalMs).toBe(PROFILES.quick.probeIntervalMs);
  });

  it('rejects a missing CHAOS_CONFIG file', () => {
    expect(() => loadConfig({ cwd, env: { CHAOS_CONFIG: 'absent.json' } })).toThrow(
      /The config file absent.json does not exist/,
    );
  });

  it('reads a YAML config file', () => {
    writeFileSync(join(cwd, 'chaos.config.yaml'), 'profile: full\ncooldownMode: fixed\n');
    const config = loadConfig({ cwd, env: {} });
    expect(config.profile.name).toBe('full');
    expect(config.cooldownMode).toBe('fixed');
  });

  it.each([
    ['CHAOS_PROFILE', 'fast', 'one of: quick, full'],
    ['CHAOS_TARGET', 'k8s', 'one of: process, docker'],
    ['CHAOS_GATE', 'false', 'one of: off, on'],
    ['CHAOS_PIPELINE_URL', 'localhost:8000', 'not an http(s) URL'],
  ])('rejects %s=%s', (name, value, hint) => {
    let caught: unknown;
    try {
      loadConfig({ cwd, env: { [name]: value } });
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(ConfigError);
    expect((caught as ConfigError).setting).toBe(name);
    expect((caught as ConfigError).message).toContain(JSON.stringify(value));
    expect((caught as ConfigError).message).toContain(hint);
  });

  it('rejects a config file pipeline URL that is not http', () => {
    writeFileSync(
      join(cwd, 'chaos.config.json'),
      JSON.stringify({ pipelineUrl: 'ftp://127.0.0.1/' }),
    );
    expect(() => loadConfig({ cwd, env: {} })).toThrow(
      'pipelineUrl must be an http(s) URL such as http://127.0.0.1:8000',
    );
  });

  it('rejects an invalid config file field', () => {
    writeFileSync(join(cwd, 'chaos.config.json'), JSON.stringify({ gate: { minRcaRatio: 7 } }));
    expect(() => loadConfig({ cwd, env: {} })).toThrow(
      'gate.minRcaRatio must be at most 1 (received 7)',
    );
  });
});

describe('scaleFaultDurationMs', () => {
  it('scales quick durations with a floor', () => {
    expect(scaleFaultDurationMs(PROFILES.quick, 120_000)).toBe(30_000);
    expect(scaleFaultDurationMs(PROFILES.quick, 60_000)).toBe(15_000);
    expect(scaleFaultDurationMs(PROFILES.quick, 20_000)).toBe(15_000);
  });

  it('keeps full durations', () => {
    expect(scaleFaultDurationMs(PROFILES.full, 60_000)).toBe(60_000);
  });
});
