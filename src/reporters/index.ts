import type { Reporter } from 'vitest/node';

// TODO: placeholder until the scoreboard reporter lands; it prints nothing.
export class ScoreboardReporter implements Reporter {}
