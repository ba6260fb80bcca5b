/**
 * Formats a duration in ms for the scoreboard: `850ms` below a second, one decimal below ten
 * seconds (`4.2s`), whole seconds above (`23s`, `90s`). Negative values keep their sign.
 */
export function formatDuration(durationMs: number): string {
  const sign = durationMs < 0 ? '-' : '';
  const absMs = Math.abs(durationMs);
  if (absMs < 1000) return `${sign}${Math.round(absMs)}ms`;
  if (absMs < 10_000) return `${sign}${trimZero((absMs / 1000).toFixed(1))}s`;
  return `${sign}${Math.round(absMs / 1000)}s`;
}

/** Formats a fraction as a percentage: whole numbers plain (`60%`), others with one decimal. */
export function formatPercent(fraction: number): string {
  const percent = fraction * 100;
  const rounded = Math.round(percent * 10) / 10;
  return Number.isInteger(rounded) ? `${rounded}%` : `${rounded.toFixed(1)}%`;
}

function trimZero(text: string): string {
  return text.endsWith('.0') ? text.slice(0, -2) : text;
}
