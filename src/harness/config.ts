import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { z } from 'zod';
import { ConfigError } from './errors.ts';
import { toSchemaIssues } from './experiment/issues.ts';
import { createLogger } from './log.ts';

const log = createLogger('config');

/** Timings of one profile; see the profile table in docs/architecture.md. */
export interface ProfileSettings {
  name: 'quick' | 'full';
  probeIntervalMs: number;
  /** Window the steady-state gate needs to see healthy before a fault. */
  steadyStateWindowMs: number;
  /** Duration of the baseline capture (metric statistics). */
  baselineCaptureMs: number;
  /** Duration of the false-alarm baseline window. */
  baselineWindowMs: number;
  /** Factor applied to catalog fault durations. */
  faultDurationScale: number;
  /** Lower bound of a scaled fault duration. */
  minFaultDurationMs: number;
  /** Bound of the cooldown: the fixed wait, or the adaptive maximum. */
  cooldownMaxMs: number;
  /** Bound of the recovery measurement after rollback. */
  recoveryTimeoutMs: number;
}

export const PROFILES: Record<'quick' | 'full', ProfileSettings> = {
  quick: {
    name: 'quick',
    probeIntervalMs: 1_000,
    steadyStateWindowMs: 10_000,
    baselineCaptureMs: 20_000,
    baselineWindowMs: 30_000,
    faultDurationScale: 0.25,
    minFaultDurationMs: 15_000,
    cooldownMaxMs: 20_000,
    recoveryTimeoutMs: 30_000,
  },
  full: {
    name: 'full',
    probeIntervalMs: 5_000,
    steadyStateWindowMs: 60_000,
    baselineCaptureMs: 300_000,
    baselineWindowMs: 300_000,
    faultDurationScale: 1,
    minFaultDurationMs: 0,
    cooldownMaxMs: 120_000,
    recoveryTimeoutMs: 120_000,
  },
};

/** Returns the fault duration a profile runs for a catalog duration (quick: x0.25, at least 15 s). */
export function scaleFaultDurationMs(profile: ProfileSettings, catalogMs: number): number {
  return Math.max(Math.round(catalogMs * profile.faultDurationScale), profile.minFaultDurationMs);
}

const fieldMapSchema = z.record(z.string(), z.string());

const configFileSchema = z.strictObject({
  profile: z.enum(['quick', 'full']).optional(),
  /** Replaces single timings of the chosen profile, in ms (for example a shorter baseline). */
  profileOverrides: z
    .strictObject({
      probeIntervalMs: z.number().int().positive().optional(),
      steadyStateWindowMs: z.number().int().positive().optional(),
      baselineCaptureMs: z.number().int().positive().optional(),
      baselineWindowMs: z.number().int().positive().optional(),
      faultDurationScale: z.number().positive().optional(),
      minFaultDurationMs: z.number().int().nonnegative().optional(),
      cooldownMaxMs: z.number().int().nonnegative().optional(),
      recoveryTimeoutMs: z.number().int().nonnegative().optional(),
    })
    .optional(),
  pipelineUrl: z
    .url({ protocol: /^https?$/, error: 'an http(s) URL such as http://127.0.0.1:8000' })
    .optional(),
  catalog: z.string().optional(),
  resultsDir: z.string().optional(),
  journalDir: z.string().optional(),
  target: z.enum(['process', 'docker']).optional(),
  stackFile: z.string().optional(),
  cooldownMode: z.enum(['adaptive', 'fixed']).optional(),
  driverModules: z.array(z.string()).optional(),
  gate: z
    .strictObject({
      enabled: z.boolean().optional(),
      minDetectedRatio: z.number().min(0).max(1).optional(),
      minRcaRatio: z.number().min(0).max(1).optional(),
      maxFalseAlarms: z.number().int().nonnegative().optional(),
    })
    .optional(),
  pipeline: z
    .strictObject({
      timeoutMs: z.number().int().positive().optional(),
      /** Field names of the pipeline's alerts, clusters and RCA answers, mapped to ours. */
      fieldMap: z
        .strictObject({
          alert: fieldMapSchema.optional(),
          cluster: fieldMapSchema.optional(),
          rca: fieldMapSchema.optional(),
        })
        .optional(),
    })
    .optional(),
});
export type ChaosConfigFile = z.infer<typeof configFileSchema>;

/** The acceptance gate: the run fails when a bound is not met. */
export interface GateSettings {
  enabled: boolean;
  /** Minimum share of experiments detected; default 0.7. */
  minDetectedRatio: number;
  /** Minimum share of detected experiments with a correct RCA; default 0.7. */
  minRcaRatio: number;
  /** Maximum alerts in baseline windows; default 1. */
  maxFalseAlarms: number;
}

/** The resolved configuration of a campaign. */
export interface ChaosConfig {
  profile: ProfileSettings;
  /** Pipeline base URL; undefined means the embedded reference pipeline. */
  pipelineUrl: string | undefined;
  /** Catalog file; default `fixtures/experiments.yaml`. */
  catalog: string;
  /** Results folder; default `chaos-results/`. */
  resultsDir: string;
  /** Journal folder; default `.chaos/journal`. */
  journalDir: string;
  /** Runtime of the embedded stack: local processes or Docker; default `process`. */
  target: 'process' | 'docker';
  /** A StackInfo JSON file describing the user's own stack, instead of the embedded one. */
  stackFile: string | undefined;
  cooldownMode: 'adaptive' | 'fixed';
  /** Modules that register extra drivers when imported. */
  driverModules: string[];
  gate: GateSettings;
  pipeline: {
    timeoutMs: number;
    fieldMap: NonNullable<NonNullable<ChaosConfigFile['pipeline']>['fieldMap']>;
  };
  /** The config file that was read, if any. */
  file: string | undefined;
}

const CONFIG_FILES = ['chaos.config.json', 'chaos.config.yaml', 'chaos.config.yml'];

function readConfigFile(
  cwd: string,
  explicitFile: string | undefined,
): { file: string | undefined; data: ChaosConfigFile } {
  if (explicitFile !== undefined && !existsSync(resolve(cwd, explicitFile))) {
    throw new ConfigError('CHAOS_CONFIG', `The config file ${explicitFile} does not exist.`, {
      value: explicitFile,
      fix: 'Set CHAOS_CONFIG to an existing chaos.config.json or .yaml file, or unset it.',
    });
  }
  const file =
    explicitFile === undefined
      ? CONFIG_FILES.map((name) => join(cwd, name)).find((candidate) => existsSync(candidate))
      : resolve(cwd, explicitFile);
  if (!file) return { file: undefined, data: {} };
  let raw: unknown;
  try {
    const text = readFileSync(file, 'utf8');
    raw = file.endsWith('.json') ? JSON.parse(text) : parseYaml(text);
  } catch (error) {
    throw new ConfigError(file, `Reading the config file ${file} failed.`, {
      value: file,
      fix: 'Fix its syntax.',
      cause: error,
    });
  }
  const parsed = configFileSchema.safeParse(raw ?? {});
  if (!parsed.success) {
    const lines = toSchemaIssues(parsed.error.issues, { file, input: raw }).map(
      (issue) => issue.message,
    );
    throw new ConfigError(file, `Invalid config file:\n  ${lines.join('\n  ')}`, { value: raw });
  }
  return { file, data: parsed.data };
}

function envChoice<T extends string>(
  env: NodeJS.ProcessEnv,
  name: string,
  choices: readonly T[],
): T | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  if ((choices as readonly string[]).includes(value)) return value as T;
  throw new ConfigError(name, `Invalid ${name}=${JSON.stringify(value)}.`, {
    value,
    fix: `Set it to one of: ${choices.join(', ')}.`,
  });
}

function envUrl(env: NodeJS.ProcessEnv, name: string): string | undefined {
  const value = env[name];
  if (value === undefined || value === '') return undefined;
  if (!z.url({ protocol: /^https?$/ }).safeParse(value).success) {
    throw new ConfigError(name, `Invalid ${name}=${JSON.stringify(value)}: not an http(s) URL.`, {
      value,
      fix: 'Set it to the pipeline base URL, for example http://127.0.0.1:8000.',
    });
  }
  return value.replace(/\/+$/, '');
}

/**
 * Loads the configuration: the file `CHAOS_CONFIG` names, else `chaos.config.json` (or `.yaml`)
 * in `cwd` when present, then the environment: `CHAOS_PROFILE` (quick|full),
 * `CHAOS_PIPELINE_URL`, `CHAOS_CATALOG`, `CHAOS_RESULTS_DIR`, `CHAOS_JOURNAL_DIR`, `CHAOS_TARGET`
 * (process|docker), `CHAOS_GATE` (off|on). Throws a `ConfigError` naming the setting and the value when one is invalid.
 */
export function loadConfig(options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): ChaosConfig {
  const cwd = resolve(options.cwd ?? process.cwd());
  const env = options.env ?? process.env;
  const { file, data } = readConfigFile(cwd, env.CHAOS_CONFIG || undefined);
  const profileName =
    envChoice(env, 'CHAOS_PROFILE', ['quick', 'full'] as const) ?? data.profile ?? 'quick';
  const gateSwitch = envChoice(env, 'CHAOS_GATE', ['off', 'on'] as const);
  const config: ChaosConfig = {
    profile: { ...PROFILES[profileName], ...data.profileOverrides },
    pipelineUrl: envUrl(env, 'CHAOS_PIPELINE_URL') ?? data.pipelineUrl?.replace(/\/+$/, ''),
    catalog: resolve(cwd, env.CHAOS_CATALOG || data.catalog || 'fixtures/experiments.yaml'),
    resultsDir: resolve(cwd, env.CHAOS_RESULTS_DIR || data.resultsDir || 'chaos-results'),
    journalDir: resolve(cwd, env.CHAOS_JOURNAL_DIR || data.journalDir || '.chaos/journal'),
    target:
      envChoice(env, 'CHAOS_TARGET', ['process', 'docker'] as const) ?? data.target ?? 'process',
    stackFile: data.stackFile === undefined ? undefined : resolve(cwd, data.stackFile),
    cooldownMode: data.cooldownMode ?? 'adaptive',
    driverModules: (data.driverModules ?? []).map((module) =>
      module.startsWith('.') ? resolve(cwd, module) : module,
    ),
    gate: {
      enabled: gateSwitch === undefined ? (data.gate?.enabled ?? true) : gateSwitch === 'on',
      minDetectedRatio: data.gate?.minDetectedRatio ?? 0.7,
      minRcaRatio: data.gate?.minRcaRatio ?? 0.7,
      maxFalseAlarms: data.gate?.maxFalseAlarms ?? 1,
    },
    pipeline: {
      timeoutMs: data.pipeline?.timeoutMs ?? 5_000,
      fieldMap: data.pipeline?.fieldMap ?? {},
    },
    file,
  };
  log(
    'config: profile %s, catalog %s, pipeline %s, file %s',
    profileName,
    config.catalog,
    config.pipelineUrl ?? 'embedded',
    file ?? 'none',
  );
  return config;
}
