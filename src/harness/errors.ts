/**
 * The error family of the harness. Every error carries a stable `code` that tests and callers
 * match on, the offending value where there is one, and the fix: what to do next.
 */

/** Stable codes of the harness errors. */
export type ChaosErrorCode =
  | 'CHAOS_ERROR'
  | 'SCHEMA_INVALID'
  | 'CONFIG_INVALID'
  | 'DRIVER_FAILED'
  | 'DRIVER_NOT_FOUND'
  | 'PIPELINE_FAILED'
  | 'REQUIREMENT_MISSING'
  | 'JOURNAL_FAILED'
  | 'FAULT_NOT_MANIFESTED';

export interface ChaosErrorOptions {
  /** The value that caused the failure, kept on the error for callers. */
  value?: unknown;
  /** The next step for the user, appended to the message. */
  fix?: string;
  cause?: unknown;
}

/** Base class: a message, a stable code, the value and the fix. */
export class ChaosError extends Error {
  readonly code: ChaosErrorCode;
  readonly value: unknown;
  readonly fix: string | undefined;

  constructor(
    message: string,
    options: ChaosErrorOptions = {},
    code: ChaosErrorCode = 'CHAOS_ERROR',
  ) {
    super(options.fix ? `${message} ${options.fix}` : message, { cause: options.cause });
    this.name = new.target.name;
    this.code = code;
    this.value = options.value;
    this.fix = options.fix;
  }
}

/** One problem found while validating an input file or object. */
export interface SchemaIssue {
  /** Path inside the input, written like `[2].fault.latency`. */
  path: string;
  /** The constraint the value breaks, written to follow "must be". */
  constraint: string;
  /** The value found there, `undefined` when the field is missing. */
  received: unknown;
  /** The full line: `<file>: <path> must be <constraint> (received <value>)`. */
  message: string;
}

/** An input (catalog file, experiment object) failed validation. `issues` lists every problem. */
export class SchemaError extends ChaosError {
  readonly issues: SchemaIssue[];
  readonly file: string | undefined;

  constructor(
    message: string,
    issues: SchemaIssue[],
    options: ChaosErrorOptions & { file?: string } = {},
  ) {
    super(message, options, 'SCHEMA_INVALID');
    this.issues = issues;
    this.file = options.file;
  }
}

/** The harness configuration (config file or environment) is invalid. */
export class ConfigError extends ChaosError {
  /** The setting that is invalid, for example `CHAOS_PROFILE`. */
  readonly setting: string;

  constructor(setting: string, message: string, options: ChaosErrorOptions = {}) {
    super(message, options, 'CONFIG_INVALID');
    this.setting = setting;
  }
}

/** A fault driver failed, or no driver can inject a fault. */
export class DriverError extends ChaosError {
  /** The driver involved, when one was chosen. */
  readonly driver: string | undefined;

  constructor(
    message: string,
    options: ChaosErrorOptions & {
      driver?: string;
      code?: 'DRIVER_FAILED' | 'DRIVER_NOT_FOUND';
    } = {},
  ) {
    super(message, options, options.code ?? 'DRIVER_FAILED');
    this.driver = options.driver;
  }
}

/** A pipeline call failed, timed out or returned a malformed response. */
export class PipelineError extends ChaosError {
  readonly stage: 'alerts' | 'correlate' | 'rca' | 'health';
  /** The start of the response body, or empty when there was none. */
  readonly excerpt: string;

  constructor(
    stage: PipelineError['stage'],
    message: string,
    options: ChaosErrorOptions & { excerpt?: string } = {},
  ) {
    super(message, options, 'PIPELINE_FAILED');
    this.stage = stage;
    this.excerpt = options.excerpt ?? '';
  }
}

/** A tool or privilege a fault needs is missing on this machine. */
export interface MissingItem {
  what: string;
  reason: string;
  fix: string;
}

/** A fault cannot be injected because something it needs is missing. `missing` lists each fix. */
export class RequirementError extends ChaosError {
  readonly missing: MissingItem[];

  constructor(subject: string, missing: MissingItem[], options: ChaosErrorOptions = {}) {
    const list = missing
      .map((item) => `${item.what} (${item.reason}; fix: ${item.fix})`)
      .join(', ');
    super(
      `${subject} cannot run: missing ${list}.`,
      { value: missing, ...options },
      'REQUIREMENT_MISSING',
    );
    this.missing = missing;
  }
}

/** The fault journal could not be read or written. */
export class JournalError extends ChaosError {
  /** The journal file or folder involved. */
  readonly path: string;

  constructor(path: string, message: string, options: ChaosErrorOptions = {}) {
    super(message, { value: path, ...options }, 'JOURNAL_FAILED');
    this.path = path;
  }
}

/** An applied fault did not take effect, so the experiment is invalid rather than a miss. */
export class ManifestationError extends ChaosError {
  constructor(message: string, options: ChaosErrorOptions = {}) {
    super(message, options, 'FAULT_NOT_MANIFESTED');
  }
}

/** Tells whether a value is a harness error, optionally with a given code. */
export function isChaosError(error: unknown, code?: ChaosErrorCode): error is ChaosError {
  return error instanceof ChaosError && (code === undefined || error.code === code);
}

/** Formats a value for an error message: strings quoted, long values cut. */
export function formatValue(value: unknown, maxLength = 80): string {
  let text: string;
  if (value === undefined) text = 'nothing';
  else if (typeof value === 'string') text = JSON.stringify(value);
  else {
    try {
      text = JSON.stringify(value) ?? String(value);
    } catch {
      text = String(value);
    }
  }
  return text.length > maxLength ? `${text.slice(0, maxLength - 3)}...` : text;
}
