import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { relative } from 'node:path';
import { LineCounter, parseDocument } from 'yaml';
import { SchemaError, type SchemaIssue } from '../errors.ts';
import { createLogger } from '../log.ts';
import { makeIssue, toSchemaIssues } from './issues.ts';
import { experimentSchema, type Experiment, type ExperimentInput } from './schema.ts';

const log = createLogger('experiment');

/** A validated catalog: every experiment, the file and its SHA-256. */
export interface Catalog {
  file: string;
  sha256: string;
  experiments: Experiment[];
}

function fail(file: string, issues: SchemaIssue[]): never {
  const lines = issues.map((issue) => `  ${issue.message}`).join('\n');
  throw new SchemaError(
    `${file} has ${issues.length} problem(s); no fault was injected:\n${lines}`,
    issues,
    {
      file,
      fix: '\nFix every listed entry; the catalog is all-or-nothing.',
    },
  );
}

function parseYaml(text: string, file: string): unknown {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { prettyErrors: false, uniqueKeys: true, lineCounter });
  if (document.errors.length === 0) return document.toJS();
  const issues = document.errors.map((error): SchemaIssue => {
    const position = lineCounter.linePos(error.pos[0]);
    const where = `line ${position.line}, column ${position.col}`;
    return {
      path: where,
      constraint: 'valid YAML',
      received: error.code,
      message: `${file}:${position.line}:${position.col}: invalid YAML at ${where}: ${error.message.split('\n')[0]}`,
    };
  });
  return fail(file, issues);
}

function checkUnique(
  experiments: { index: number; value: Experiment }[],
  file: string,
): SchemaIssue[] {
  const issues: SchemaIssue[] = [];
  for (const key of ['id', 'name'] as const) {
    const seen = new Map<string, number>();
    for (const { index, value } of experiments) {
      const first = seen.get(value[key]);
      if (first === undefined) seen.set(value[key], index);
      else
        issues.push(
          makeIssue(
            file,
            [index, key],
            `unique (entry [${first}] has the same ${key})`,
            value[key],
          ),
        );
    }
  }
  return issues;
}

/**
 * Validates a list of raw catalog entries. Every entry is checked and every problem is
 * reported at once in a `SchemaError`, as `<file>: <path> must be <constraint> (received <value>)`.
 */
export function validateCatalog(raw: unknown, file: string): Experiment[] {
  const list =
    raw !== null && typeof raw === 'object' && 'experiments' in raw ? raw.experiments : raw;
  if (!Array.isArray(list))
    fail(file, [
      makeIssue(file, [], 'a list of experiments (or an object with an experiments list)', raw),
    ]);
  if (list.length === 0)
    fail(file, [makeIssue(file, [], 'a list of at least one experiment', list)]);
  const issues: SchemaIssue[] = [];
  const parsed: { index: number; value: Experiment }[] = [];
  list.forEach((entry: unknown, index) => {
    const result = experimentSchema.safeParse(entry);
    if (result.success) parsed.push({ index, value: result.data });
    else
      issues.push(...toSchemaIssues(result.error.issues, { file, input: entry, prefix: [index] }));
  });
  issues.push(...checkUnique(parsed, file));
  if (issues.length > 0) fail(file, issues);
  return parsed.map(({ value }) => value);
}

/**
 * Loads and validates a YAML catalog file (a list of experiments). Nothing is injected before
 * the whole file is valid: a `SchemaError` lists every problem, with line and column for
 * invalid YAML. Each experiment carries the file and the SHA-256 of its content.
 */
export function loadCatalog(file: string): Catalog {
  const relativeName = relative(process.cwd(), file);
  const shownName = relativeName.startsWith('..') || relativeName === '' ? file : relativeName;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    throw new SchemaError(`Reading the catalog ${shownName} failed.`, [], {
      file: shownName,
      value: file,
      fix: 'Check the path, or set CHAOS_CATALOG to the catalog file.',
      cause: error,
    });
  }
  const sha256 = createHash('sha256').update(text).digest('hex');
  const experiments = validateCatalog(parseYaml(text, shownName), shownName).map((experiment) => ({
    ...experiment,
    source: { file: shownName, sha256 },
  }));
  log(
    'loaded %d experiment(s) from %s (sha256 %s)',
    experiments.length,
    shownName,
    sha256.slice(0, 12),
  );
  return { file: shownName, sha256, experiments };
}

/**
 * Validates an experiment written in TypeScript with the catalog schema and returns its parsed
 * form. Throws a `SchemaError` naming every problem; `label` stands in for the file name.
 */
export function defineExperiment(input: ExperimentInput, label = 'defineExperiment'): Experiment {
  const result = experimentSchema.safeParse(input);
  if (!result.success) fail(label, toSchemaIssues(result.error.issues, { file: label, input }));
  return result.data;
}
