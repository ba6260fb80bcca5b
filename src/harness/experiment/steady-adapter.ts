import type { ProbeReader } from '../steady/probe-log.ts';
import type { MetricsSampler } from '../steady/sampler.ts';

// NOTE: the steady-state gate, recovery and cooldown modules are written in parallel with the
// harness. They are loaded by a computed specifier so this file compiles before they exist;
// the types below restate their published signatures and go once the modules land.

type Progress = (text: string) => void;

export type SteadyStateResult =
  { steady: true; waitedMs: number } | { steady: false; reason: string; waitedMs: number };

export interface SteadyFunctions {
  waitForSteadyState(options: {
    probe: ProbeReader;
    sampler?: MetricsSampler;
    windowMs: number;
    minPassRate?: number;
    timeoutMs: number;
    onProgress?: Progress;
  }): Promise<SteadyStateResult>;
  measureRecovery(options: {
    probe: ProbeReader;
    sampler?: MetricsSampler;
    sinceMs: number;
    windowMs: number;
    timeoutMs: number;
    onProgress?: Progress;
  }): Promise<{ recovered: boolean; recoveryMs?: number; detail: string }>;
  waitCooldown(options: {
    mode: 'adaptive' | 'fixed';
    maxMs: number;
    quietMs: number;
    isRecovered: () => Promise<boolean>;
    isPipelineQuiet: (sinceMs: number) => Promise<boolean>;
    onProgress?: Progress;
  }): Promise<{ mode: 'adaptive' | 'fixed'; waitedMs: number }>;
}

async function importModule(name: string): Promise<Record<string, unknown>> {
  const specifier = `../steady/${name}.ts`;
  return (await import(specifier)) as Record<string, unknown>;
}

/** Loads the steady-state functions the experiment runner calls. */
export async function loadSteadyFunctions(): Promise<SteadyFunctions> {
  const [gate, recovery, cooldown] = await Promise.all([
    importModule('gate'),
    importModule('recovery'),
    importModule('cooldown'),
  ]);
  return {
    waitForSteadyState: gate.waitForSteadyState as SteadyFunctions['waitForSteadyState'],
    measureRecovery: recovery.measureRecovery as SteadyFunctions['measureRecovery'],
    waitCooldown: cooldown.waitCooldown as SteadyFunctions['waitCooldown'],
  };
}
