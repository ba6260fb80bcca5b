import { z } from 'zod';
import { loadConfig } from '../harness/config.ts';
import { ConfigError } from '../harness/errors.ts';
import type { GateThresholds } from './scoring/gate.ts';

/** Settings of the scoreboard reporter. */
export interface ReporterSettings {
  /** Absolute folder for `chaos_results.json` and `chaos_report.md`; default `<root>/chaos-results`. */
  resultsDir: string;
  /** Gate bounds, or undefined when the gate is off (`CHAOS_GATE=off`). */
  thresholds: GateThresholds | undefined;
}

const shareSchema = z
  .string()
  .trim()
  .regex(/^\d+(\.\d+)?%?$/, 'must be a fraction such as 0.7 or a percentage such as 70%')
  .transform((text) => (text.endsWith('%') ? Number(text.slice(0, -1)) / 100 : Number(text)))
  .pipe(z.number().min(0).max(1));

const countSchema = z.string().trim().regex(/^\d+$/, 'must be a whole number').transform(Number);

/**
 * Reads the reporter settings through the harness configuration (`chaos.config.json` or `.yaml`
 * in `root`, then `CHAOS_RESULTS_DIR` and `CHAOS_GATE=off|on`). The environment can override the
 * gate bounds: `CHAOS_GATE_DETECTED_MIN` and `CHAOS_GATE_RCA_CORRECT_MIN` (fractions such as 0.7
 * or percentages such as 70%) and `CHAOS_GATE_FALSE_ALARMS_MAX` (alerts). Throws ConfigError on
 * an invalid value.
 */
export function readReporterSettings(env: NodeJS.ProcessEnv, root: string): ReporterSettings {
  const config = loadConfig({ cwd: root, env });
  if (!config.gate.enabled) return { resultsDir: config.resultsDir, thresholds: undefined };
  const thresholds: GateThresholds = {
    detectedMin: parseSetting(
      env,
      'CHAOS_GATE_DETECTED_MIN',
      shareSchema,
      config.gate.minDetectedRatio,
    ),
    rcaCorrectMin: parseSetting(
      env,
      'CHAOS_GATE_RCA_CORRECT_MIN',
      shareSchema,
      config.gate.minRcaRatio,
    ),
    falseAlarmsMax: parseSetting(
      env,
      'CHAOS_GATE_FALSE_ALARMS_MAX',
      countSchema,
      config.gate.maxFalseAlarms,
    ),
  };
  return { resultsDir: config.resultsDir, thresholds };
}

function parseSetting(
  env: NodeJS.ProcessEnv,
  name: string,
  schema: z.ZodType<number, string>,
  fallback: number,
): number {
  const raw = env[name];
  if (raw === undefined || raw.trim() === '') return fallback;
  const parsed = schema.safeParse(raw);
  if (parsed.success) return parsed.data;
  const problem = parsed.error.issues[0]?.message ?? 'is invalid';
  throw new ConfigError(name, `${name} ${problem} (received "${raw}").`, {
    value: raw,
    fix: `Unset it for the default ${fallback}.`,
    cause: parsed.error,
  });
}
