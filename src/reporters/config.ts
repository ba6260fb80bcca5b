import { isAbsolute, resolve } from 'node:path';
import { z } from 'zod';
import { ConfigError } from '../harness/errors.ts';
import { DEFAULT_GATE_THRESHOLDS, type GateThresholds } from './scoring/gate.ts';

/** Settings of the scoreboard reporter. */
export interface ReporterSettings {
  /** Absolute folder for `chaos_results.json` and `chaos_report.md`. Default `<root>/chaos-results`. */
  resultsDir: string;
  /** Gate bounds, or undefined when `CHAOS_GATE=off` turned the gate off. */
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
 * Reads the reporter settings from the environment: `CHAOS_RESULTS_DIR` (relative to `root`),
 * `CHAOS_GATE` (`off` disables the gate), `CHAOS_GATE_DETECTED_MIN` and
 * `CHAOS_GATE_RCA_CORRECT_MIN` (fractions or percentages, default 0.7 each) and
 * `CHAOS_GATE_FALSE_ALARMS_MAX` (alerts, default 1). Throws ConfigError on a bad value.
 *
 * TODO: read these through the harness configuration loader once `src/harness/config.ts`
 * provides one, so a config file can set them as well as the environment.
 */
export function readReporterSettings(env: NodeJS.ProcessEnv, root: string): ReporterSettings {
  const dir = env.CHAOS_RESULTS_DIR?.trim() || 'chaos-results';
  const resultsDir = isAbsolute(dir) ? dir : resolve(root, dir);
  const gate = env.CHAOS_GATE?.trim().toLowerCase();
  if (gate !== undefined && gate !== '' && gate !== 'on' && gate !== 'off') {
    throw new ConfigError(
      'CHAOS_GATE',
      `CHAOS_GATE must be "on" or "off" (received "${env.CHAOS_GATE}").`,
      {
        value: env.CHAOS_GATE,
        fix: 'Unset it to keep the gate on.',
      },
    );
  }
  if (gate === 'off') return { resultsDir, thresholds: undefined };
  const thresholds: GateThresholds = {
    detectedMin: parseSetting(
      env,
      'CHAOS_GATE_DETECTED_MIN',
      shareSchema,
      DEFAULT_GATE_THRESHOLDS.detectedMin,
    ),
    rcaCorrectMin: parseSetting(
      env,
      'CHAOS_GATE_RCA_CORRECT_MIN',
      shareSchema,
      DEFAULT_GATE_THRESHOLDS.rcaCorrectMin,
    ),
    falseAlarmsMax: parseSetting(
      env,
      'CHAOS_GATE_FALSE_ALARMS_MAX',
      countSchema,
      DEFAULT_GATE_THRESHOLDS.falseAlarmsMax,
    ),
  };
  return { resultsDir, thresholds };
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
