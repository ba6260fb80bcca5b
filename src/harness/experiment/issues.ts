import type { z } from 'zod';
import { formatValue, type SchemaIssue } from '../errors.ts';

type Path = readonly PropertyKey[];

/** Writes a path like `[2].fault.latency`; numbers become indexes. */
export function formatPath(path: Path): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else text += text === '' ? String(part) : `.${String(part)}`;
  }
  return text === '' ? '(root)' : text;
}

/** Returns the value at `path` inside `input`, or undefined when the path does not exist. */
export function valueAt(input: unknown, path: Path): unknown {
  let current = input;
  for (const part of path) {
    if (current === null || typeof current !== 'object') return undefined;
    current = (current as Record<PropertyKey, unknown>)[part];
  }
  return current;
}

function article(type: string): string {
  return /^[aeiou]/.test(type) ? `an ${type}` : `a ${type}`;
}

/** Turns one zod issue into the constraint that follows "must be". */
function constraintOf(issue: z.core.$ZodIssue): string {
  switch (issue.code) {
    case 'invalid_type':
      return article(issue.expected);
    case 'invalid_value':
      return `one of ${issue.values.map((value) => JSON.stringify(value)).join(', ')}`;
    case 'invalid_union':
      if ('options' in issue && Array.isArray(issue.options)) {
        return `one of the known types: ${issue.options.join(', ')}`;
      }
      return 'one of the accepted forms';
    case 'too_small':
      return `${issue.inclusive ? 'at least' : 'more than'} ${String(issue.minimum)}${issue.origin === 'array' ? ' item(s)' : ''}`;
    case 'too_big':
      return `${issue.inclusive ? 'at most' : 'less than'} ${String(issue.maximum)}${issue.origin === 'array' ? ' item(s)' : ''}`;
    case 'unrecognized_keys':
      return 'absent (unknown field)';
    default:
      return issue.message;
  }
}

/**
 * Converts zod issues into `SchemaIssue`s whose message reads
 * `<file>: <path> must be <constraint> (received <value>)`. `prefix` is prepended to every
 * path (the entry index in a catalog) and `input` is the raw value the paths point into.
 */
export function toSchemaIssues(
  issues: readonly z.core.$ZodIssue[],
  options: { file: string; input: unknown; prefix?: Path },
): SchemaIssue[] {
  const result: SchemaIssue[] = [];
  for (const issue of issues) {
    const paths: Path[] =
      issue.code === 'unrecognized_keys'
        ? issue.keys.map((key) => [...issue.path, key])
        : [issue.path];
    for (const path of paths) {
      const fullPath = [...(options.prefix ?? []), ...path];
      const received = valueAt(options.input, path);
      result.push(makeIssue(options.file, fullPath, constraintOf(issue), received));
    }
  }
  return result;
}

/** Builds one issue with its message. */
export function makeIssue(
  file: string,
  path: Path,
  constraint: string,
  received: unknown,
): SchemaIssue {
  const pathText = formatPath(path);
  return {
    path: pathText,
    constraint,
    received,
    message: `${file}: ${pathText} must be ${constraint} (received ${formatValue(received)})`,
  };
}
