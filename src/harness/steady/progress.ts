/**
 * Creates a progress printer for long waits. It writes the first line at once, then at most one
 * line every `intervalMs` (default 5000 ms), except that a line about a new phase (the text
 * before its first colon changed) is written at once. Lines end with a newline.
 */
export function createProgressReporter(
  stream: NodeJS.WritableStream,
  options: { intervalMs?: number; now?: () => number } = {},
): (text: string) => void {
  const intervalMs = options.intervalMs ?? 5_000;
  const now = options.now ?? Date.now;
  let lastWrittenMs = Number.NEGATIVE_INFINITY;
  let lastPhase: string | undefined;
  return (text) => {
    const phase = text.split(':', 1)[0];
    const nowMs = now();
    if (phase === lastPhase && nowMs - lastWrittenMs < intervalMs) return;
    lastPhase = phase;
    lastWrittenMs = nowMs;
    stream.write(`${text}\n`);
  };
}

/** Formats a share 0..1 as a whole percentage, for progress lines and reasons. */
export function formatPercent(share: number): string {
  const percent = share * 100;
  return `${Number.isInteger(percent) ? percent : percent.toFixed(1)}%`;
}
