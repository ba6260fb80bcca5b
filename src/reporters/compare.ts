import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { z } from 'zod';
import { formatDuration } from './format/duration.ts';
import { outcomeSchema } from './results/schema.ts';
import { RESULTS_FILE } from './scoreboard-reporter.ts';

type Outcome = z.infer<typeof outcomeSchema>;

/** The parts of `chaos_results.json` a comparison reads. The rest may differ between versions. */
const comparedFileSchema = z.object({
  kind: z.literal('vitest-chaos-results'),
  complete: z.boolean(),
  experiments: z.array(z.object({ outcome: outcomeSchema })),
});

/** One results file read for a comparison. */
export interface ComparedRun {
  path: string;
  complete: boolean;
  outcomes: Outcome[];
}

/** One experiment's verdicts in two runs. A side is undefined when that run lacks it. */
export interface VerdictRow {
  id: string;
  name: string;
  first: string | undefined;
  second: string | undefined;
  same: boolean;
  firstMttdMs: number | undefined;
  secondMttdMs: number | undefined;
}

/** The experiments of two runs side by side, and how many have the same verdict. */
export interface VerdictComparison {
  rows: VerdictRow[];
  same: number;
  total: number;
}

/** Error for a results file that is missing or is not a vitest-chaos results file. */
export class ResultsFileError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ResultsFileError';
  }
}

/**
 * Reads `chaos_results.json` from a file path or from the results folder that contains it.
 * Throws a {@link ResultsFileError} that names the file and the first problem found.
 */
export async function readComparedRun(path: string): Promise<ComparedRun> {
  let file = path;
  try {
    if ((await stat(path)).isDirectory()) file = join(path, RESULTS_FILE);
  } catch (error) {
    const missing = (error as NodeJS.ErrnoException).code === 'ENOENT';
    throw new ResultsFileError(
      missing
        ? `Results file ${path} was not found. Pass a chaos_results.json file or the folder that contains it.`
        : `Results file ${path} could not be opened: ${(error as Error).message}`,
    );
  }
  if (file !== path && !(await stat(file).catch(() => undefined))) {
    throw new ResultsFileError(
      `Folder ${path} has no ${RESULTS_FILE}. Pass the results folder of a chaos run (CHAOS_RESULTS_DIR).`,
    );
  }
  let raw: unknown;
  try {
    raw = JSON.parse(await readFile(file, 'utf8'));
  } catch (error) {
    const reason = error instanceof Error ? error.message : String(error);
    throw new ResultsFileError(`Results file ${file} could not be read as JSON: ${reason}`);
  }
  const parsed = comparedFileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue?.path.length ? issue.path.join('.') : 'the top level';
    throw new ResultsFileError(
      `${file} is not a vitest-chaos results file: ${where}: ${issue?.message ?? 'invalid'}. Pass the chaos_results.json a chaos run wrote.`,
    );
  }
  return {
    path: file,
    complete: parsed.data.complete,
    outcomes: parsed.data.experiments.map((entry) => entry.outcome),
  };
}

/**
 * Describes an experiment's verdict in a few words: its status when it did not complete, else
 * whether the pipeline detected the fault (in time or late) and whether RCA named the right
 * service.
 */
export function verdictOf(outcome: Outcome): string {
  if (outcome.status !== 'completed') return outcome.status;
  if (!outcome.detected) return 'missed';
  const late = outcome.mttdOverMaxMs === undefined ? '' : ' late';
  if (outcome.rcaCorrect === undefined) return `detected${late}, no RCA`;
  const picked = outcome.rcaService ?? 'none';
  if (outcome.rcaCorrect) return `detected${late}, RCA right (${picked})`;
  const mustNot = outcome.mustNotPickViolated ? ', must not pick' : '';
  return `detected${late}, RCA wrong (${picked}${mustNot})`;
}

/**
 * Compares verdicts experiment by experiment, matched by id. Two wrong RCA picks count as the
 * same verdict even if they named different services, unless only one of them is a service the
 * experiment must not pick. A detection later than the hypothesis allows differs from one in time.
 */
export function compareVerdicts(first: Outcome[], second: Outcome[]): VerdictComparison {
  const ids = [...new Set([...first, ...second].map((outcome) => outcome.id))];
  const rows = ids.map((id): VerdictRow => {
    const left = first.find((outcome) => outcome.id === id);
    const right = second.find((outcome) => outcome.id === id);
    return {
      id,
      name: left?.name ?? right?.name ?? id,
      first: left && verdictOf(left),
      second: right && verdictOf(right),
      same: left !== undefined && right !== undefined && verdictKey(left) === verdictKey(right),
      firstMttdMs: left?.mttdMs,
      secondMttdMs: right?.mttdMs,
    };
  });
  return { rows, same: rows.filter((row) => row.same).length, total: rows.length };
}

function verdictKey(outcome: Outcome): string {
  if (outcome.status !== 'completed') return outcome.status;
  if (!outcome.detected) return 'missed';
  const late = outcome.mttdOverMaxMs !== undefined;
  const mustNot = outcome.rcaCorrect === false && outcome.mustNotPickViolated;
  return `detected:${String(late)}:${String(outcome.rcaCorrect)}:${String(mustNot)}`;
}

/** Formats a comparison as a table with one line per experiment and a closing count. */
export function formatComparison(
  first: ComparedRun,
  second: ComparedRun,
  comparison: VerdictComparison,
): string {
  const lines = [`first:  ${first.path}`, `second: ${second.path}`];
  for (const run of [first, second]) {
    if (!run.complete) lines.push(`note: ${run.path} is from a run that did not finish`);
  }
  const mttd = (value: number | undefined) =>
    value === undefined ? '' : ` in ${formatDuration(value)}`;
  const cells = comparison.rows.map((row) => ({
    mark: row.same ? 'same' : 'DIFF',
    name: `${row.id} ${row.name}`,
    first: `${row.first ?? 'absent'}${mttd(row.firstMttdMs)}`,
    second: `${row.second ?? 'absent'}${mttd(row.secondMttdMs)}`,
  }));
  const nameWidth = Math.max(0, ...cells.map((cell) => cell.name.length));
  const firstWidth = Math.max(0, ...cells.map((cell) => cell.first.length));
  for (const cell of cells) {
    lines.push(
      `${cell.mark}  ${cell.name.padEnd(nameWidth)}  ${cell.first.padEnd(firstWidth)}  |  ${cell.second}`,
    );
  }
  lines.push(`${comparison.same} of ${comparison.total} experiments have the same verdict.`);
  return lines.join('\n');
}
