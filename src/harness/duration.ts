import { z } from 'zod';

const DURATION_PATTERN = /^([+-])?(\d+(?:\.\d+)?)(ms|s|m|h)$/;
const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;

/**
 * Parses a duration such as `500ms`, `30s`, `2m`, `1h` or a plain number of milliseconds.
 * Returns milliseconds, or `undefined` when the text is not a duration.
 */
export function parseDurationMs(
  value: unknown,
  options: { signed?: boolean } = {},
): number | undefined {
  if (typeof value === 'number') {
    return Number.isFinite(value) && (options.signed || value >= 0) ? value : undefined;
  }
  if (typeof value !== 'string') return undefined;
  const trimmed = value.trim();
  if (/^[+-]?\d+(\.\d+)?$/.test(trimmed)) return parseDurationMs(Number(trimmed), options);
  const match = DURATION_PATTERN.exec(trimmed);
  if (!match) return undefined;
  const [, sign, amount, unit] = match;
  if (sign === '-' && !options.signed) return undefined;
  const ms = Number(amount) * UNIT_MS[unit as keyof typeof UNIT_MS];
  return sign === '-' ? -ms : ms;
}

/** Formats milliseconds for people: `850ms`, `23s`, `2m05s`. */
export function formatDuration(ms: number): string {
  if (Math.abs(ms) < 1_000) return `${Math.round(ms)}ms`;
  const totalSeconds = Math.round(ms / 1_000);
  if (Math.abs(totalSeconds) < 60) return `${totalSeconds}s`;
  const minutes = Math.trunc(totalSeconds / 60);
  const seconds = Math.abs(totalSeconds % 60);
  return `${minutes}m${String(seconds).padStart(2, '0')}s`;
}

/**
 * Maximum duration of an experiment or fault field, in milliseconds. Longer values are almost
 * always a wrong unit, and Node fires a timer above 2^31 - 1 ms (about 24.8 days) at once.
 */
export const MAX_DURATION_MS = 24 * 3_600_000;

/** Zod schema of a non-negative duration up to {@link MAX_DURATION_MS}, parsed to milliseconds. */
export const durationMs = z.unknown().transform((value, ctx) => {
  const ms = parseDurationMs(value);
  if (ms === undefined || ms > MAX_DURATION_MS) {
    ctx.addIssue({
      code: 'custom',
      message:
        'a non-negative duration up to 24h, such as 500ms, 30s, 2m or a number of milliseconds',
      input: value,
    });
    return z.NEVER;
  }
  return ms;
});

/** Zod schema of a signed duration such as `+60s` or `-5m`, parsed to milliseconds. */
export const signedDurationMs = z.unknown().transform((value, ctx) => {
  const ms = parseDurationMs(value, { signed: true });
  if (ms === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: 'a signed duration such as +60s, -5m or a number of milliseconds',
      input: value,
    });
    return z.NEVER;
  }
  return ms;
});

/** Zod schema of a share given as `20%` or a fraction `0.2`, parsed to a fraction. */
export const fraction = z.unknown().transform((value, ctx) => {
  let parsed: number | undefined;
  if (typeof value === 'number') parsed = value;
  else if (typeof value === 'string') {
    const match = /^(\d+(?:\.\d+)?)%$/.exec(value.trim());
    parsed = match ? Number(match[1]) / 100 : Number.NaN;
  }
  if (parsed === undefined || !Number.isFinite(parsed) || parsed < 0 || parsed > 1) {
    ctx.addIssue({
      code: 'custom',
      message: 'a share between 0 and 1, or a percentage such as 20%',
      input: value,
    });
    return z.NEVER;
  }
  return parsed;
});
