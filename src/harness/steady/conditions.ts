import createDebug from 'debug';

const log = createDebug('chaos:steady');

/** Comparison operators of the condition grammar. */
export type ComparisonOp = '<' | '<=' | '>' | '>=' | '==' | '!=';

/** What a variable measures, which decides the values it may be compared with. */
export type VariableKind = 'percent' | 'ms' | 'boolean' | 'gauge';

/** One `<variable> <op> <value> [for <duration>]` check. */
export interface Comparison {
  kind: 'comparison';
  variable: string;
  variableKind: VariableKind;
  op: ComparisonOp;
  /** The threshold in the variable's unit: percent for rates, milliseconds for p99. */
  value: number;
  /** Time in ms the comparison must stay true without a break before it counts (0 when absent). */
  forMs: number;
  /** The comparison as written, for messages. */
  text: string;
  /** 1-based column of the comparison in the condition text. */
  column: number;
}

/** A parsed condition: comparisons joined with AND and OR. */
export type Condition =
  Comparison | { kind: 'and'; operands: Condition[] } | { kind: 'or'; operands: Condition[] };

/** The condition that tripped and the values of its variables at that moment. */
export interface ConditionTrip {
  condition: string;
  values: Record<string, number>;
}

/** Stateful evaluator of abort conditions over successive samples. */
export interface ConditionWatcher {
  /**
   * Evaluates every condition against one sample taken at `nowMs` (unix ms) and returns the
   * first one that holds, or `undefined`. A variable missing from `values` (or not finite)
   * makes its comparison false for this sample without restarting its `for` timer.
   */
  update(values: Record<string, number>, nowMs: number): ConditionTrip | undefined;
}

/** Error for a condition that does not follow the grammar, reported as a schema error before a run. */
export class ConditionSyntaxError extends Error {
  readonly code = 'CONDITION_SYNTAX';
  override readonly name = 'ConditionSyntaxError';

  constructor(
    /** The whole condition text. */
    readonly text: string,
    /** 1-based column where the problem starts. */
    readonly column: number,
    /** Description of the token the parser expected at that column. */
    readonly expected: string,
    /** The token found there instead. */
    readonly found: string,
  ) {
    const pointer = `${' '.repeat(column - 1)}^`;
    super(
      `Invalid condition at column ${column}: expected ${expected}, found ${found}.\n` +
        `  ${text}\n  ${pointer}\n` +
        'Write comparisons like "probe_pass_rate < 90% for 30s" or "checkout_p99 > 3s", ' +
        'joined with AND / OR.',
    );
  }
}

type TokenType = 'ident' | 'number' | 'op' | 'lparen' | 'rparen' | 'and' | 'or' | 'for' | 'end';

interface Token {
  type: TokenType;
  text: string;
  /** 0-based offset in the condition text. */
  offset: number;
  /** Numeric value of a number token, in the unit given by `unit`. */
  number?: number;
  unit?: '' | '%' | 'ms' | 's' | 'm' | 'h';
}

const UNIT_MS = { ms: 1, s: 1_000, m: 60_000, h: 3_600_000 } as const;
const KEYWORDS: Record<string, TokenType> = { and: 'and', or: 'or', for: 'for' };
const OPERATORS = ['<=', '>=', '==', '!=', '<', '>'] as const;
const IDENT_PATTERN = /^[A-Za-z_][A-Za-z0-9_]*(?::[A-Za-z_][A-Za-z0-9_]*)?/;
const NUMBER_PATTERN = /^(\d+(?:\.\d+)?)(ms|s|m|h|%)?/;

function describeToken(token: Token): string {
  return token.type === 'end' ? 'the end of the condition' : `"${token.text}"`;
}

function readToken(text: string, offset: number): Token {
  const rest = text.slice(offset);
  if (rest.length === 0) return { type: 'end', text: '', offset };
  if (rest[0] === '(') return { type: 'lparen', text: '(', offset };
  if (rest[0] === ')') return { type: 'rparen', text: ')', offset };
  const op = OPERATORS.find((candidate) => rest.startsWith(candidate));
  if (op) return { type: 'op', text: op, offset };
  const number = NUMBER_PATTERN.exec(rest);
  if (number) {
    const [whole, amount = '', unit = ''] = number;
    if (/^[A-Za-z0-9_.]/.test(rest.slice(whole.length))) {
      const bad = /^[^\s()<>=!]+/.exec(rest)?.[0] ?? whole;
      throw new ConditionSyntaxError(
        text,
        offset + 1,
        'a number with an optional unit (%, ms, s, m, h)',
        `"${bad}"`,
      );
    }
    return {
      type: 'number',
      text: whole,
      offset,
      number: Number(amount),
      unit: unit as Token['unit'],
    };
  }
  const ident = IDENT_PATTERN.exec(rest);
  if (ident) {
    const keyword = KEYWORDS[ident[0].toLowerCase()];
    return { type: keyword ?? 'ident', text: ident[0], offset };
  }
  throw new ConditionSyntaxError(
    text,
    offset + 1,
    'a variable, a comparison operator, a value, AND, OR or a parenthesis',
    `"${rest[0]}"`,
  );
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  let offset = 0;
  for (;;) {
    while (offset < text.length && /\s/.test(text[offset] ?? '')) offset += 1;
    const token = readToken(text, offset);
    tokens.push(token);
    if (token.type === 'end') return tokens;
    offset += token.text.length;
  }
}

/** Classifies a variable name, or returns `undefined` for a name that is not a variable. */
function variableKind(name: string): VariableKind | undefined {
  if (name.includes(':')) return 'gauge';
  if (name === 'probe_pass_rate') return 'percent';
  if (/^[a-z0-9_]+_p99$/.test(name)) return 'ms';
  if (/^[a-z0-9_]+_error_rate$/.test(name)) return 'percent';
  if (/^[a-z0-9_]+_up$/.test(name)) return 'boolean';
  return undefined;
}

const VARIABLE_HELP =
  'a variable: probe_pass_rate, <service>_p99, <service>_error_rate, <service>_up ' +
  'or <service>:<gauge> (lower case, dashes written as underscores)';

class Parser {
  private readonly tokens: Token[];
  private index = 0;

  constructor(private readonly text: string) {
    this.tokens = tokenize(text);
  }

  parse(): Condition {
    if (this.peek().type === 'end') this.fail('a comparison such as "checkout_p99 > 3s"');
    const condition = this.parseOr();
    if (this.peek().type !== 'end') this.fail('AND, OR or the end of the condition');
    return condition;
  }

  private peek(): Token {
    return this.tokens[this.index] ?? { type: 'end', text: '', offset: this.text.length };
  }

  private next(): Token {
    const token = this.peek();
    this.index += 1;
    return token;
  }

  private fail(expected: string, token = this.peek()): never {
    throw new ConditionSyntaxError(this.text, token.offset + 1, expected, describeToken(token));
  }

  private parseOr(): Condition {
    const operands = [this.parseAnd()];
    while (this.peek().type === 'or') {
      this.next();
      operands.push(this.parseAnd());
    }
    return operands.length === 1 ? operands[0]! : { kind: 'or', operands };
  }

  private parseAnd(): Condition {
    const operands = [this.parsePrimary()];
    while (this.peek().type === 'and') {
      this.next();
      operands.push(this.parsePrimary());
    }
    return operands.length === 1 ? operands[0]! : { kind: 'and', operands };
  }

  private parsePrimary(): Condition {
    if (this.peek().type !== 'lparen') return this.parseComparison();
    this.next();
    const inner = this.parseOr();
    if (this.peek().type !== 'rparen') this.fail('")" to close the parenthesis');
    this.next();
    return inner;
  }

  private parseComparison(): Comparison {
    const variableToken = this.peek();
    if (variableToken.type !== 'ident') this.fail(VARIABLE_HELP);
    const kind = variableKind(variableToken.text);
    if (!kind) this.fail(VARIABLE_HELP);
    this.next();
    const opToken = this.peek();
    if (opToken.type !== 'op') this.fail('a comparison operator (<, <=, >, >=, ==, !=)');
    this.next();
    const value = this.parseValue(kind, variableToken.text);
    const forMs = this.parseFor();
    const end = this.tokens[this.index - 1]!;
    return {
      kind: 'comparison',
      variable: variableToken.text,
      variableKind: kind,
      op: opToken.text as ComparisonOp,
      value,
      forMs,
      text: this.text.slice(variableToken.offset, end.offset + end.text.length),
      column: variableToken.offset + 1,
    };
  }

  private parseValue(kind: VariableKind, variable: string): number {
    const token = this.peek();
    if (token.type !== 'number') this.fail(`a value for ${variable}`);
    const amount = token.number ?? Number.NaN;
    const unit = token.unit ?? '';
    if (kind === 'percent' && (unit === '' || unit === '%')) return this.take(amount);
    if (kind === 'ms' && unit !== '%')
      return this.take(unit === '' ? amount : amount * UNIT_MS[unit]);
    if ((kind === 'boolean' || kind === 'gauge') && unit === '') return this.take(amount);
    const expected = {
      percent: `a percentage such as 90% for ${variable}`,
      ms: `a duration such as 3s or 800ms for ${variable}`,
      boolean: `0 or 1 for ${variable}`,
      gauge: `a plain number for ${variable}`,
    }[kind];
    return this.fail(expected);
  }

  private take(value: number): number {
    this.next();
    return value;
  }

  private parseFor(): number {
    if (this.peek().type !== 'for') return 0;
    this.next();
    const token = this.peek();
    const unit = token.unit;
    if (token.type !== 'number' || unit === '%' || unit === undefined) {
      return this.fail('a duration such as 30s after "for"');
    }
    return this.take(unit === '' ? (token.number ?? 0) : (token.number ?? 0) * UNIT_MS[unit]);
  }
}

/**
 * Parses an abort condition such as `probe_pass_rate < 90% for 30s OR checkout_p99 > 3s`.
 * AND binds tighter than OR; parentheses group. Percentages stay in percent (`90%` is 90),
 * durations become milliseconds (`3s` is 3000), and a plain number is in the variable's unit.
 * Throws `ConditionSyntaxError` with the column and what was expected.
 */
export function parseCondition(text: string): Condition {
  return new Parser(text).parse();
}

/** Lists the variables a condition reads, each once, in order of appearance. */
export function conditionVariables(condition: Condition): string[] {
  if (condition.kind === 'comparison') return [condition.variable];
  return [...new Set(condition.operands.flatMap(conditionVariables))];
}

function compare(actual: number, op: ComparisonOp, threshold: number): boolean {
  switch (op) {
    case '<':
      return actual < threshold;
    case '<=':
      return actual <= threshold;
    case '>':
      return actual > threshold;
    case '>=':
      return actual >= threshold;
    case '==':
      return actual === threshold;
    case '!=':
      return actual !== threshold;
  }
}

/** Evaluates a condition, keeping the time each comparison became true in `trueSince`. */
function evaluate(
  condition: Condition,
  values: Record<string, number>,
  nowMs: number,
  trueSince: Map<Comparison, number>,
): boolean {
  if (condition.kind !== 'comparison') {
    // Every operand is evaluated without short-circuit, so each `for` timer gets every sample.
    const results = condition.operands.map((operand) =>
      evaluate(operand, values, nowMs, trueSince),
    );
    return condition.kind === 'and' ? results.every(Boolean) : results.some(Boolean);
  }
  const actual = values[condition.variable];
  // A sample without the value (no probe check or no request in the window) is no evidence
  // either way: the comparison is false for it, but its `for` timer keeps running.
  if (actual === undefined || !Number.isFinite(actual)) return false;
  if (!compare(actual, condition.op, condition.value)) {
    trueSince.delete(condition);
    return false;
  }
  const since = trueSince.get(condition) ?? nowMs;
  trueSince.set(condition, since);
  return nowMs - since >= condition.forMs;
}

/**
 * Creates a watcher that evaluates abort conditions on each sample. A comparison with
 * `for <duration>` holds only once it has been true on every sample for that long.
 */
export function createConditionWatcher(
  conditions: { text: string; condition: Condition }[],
): ConditionWatcher {
  const trueSince = new Map<Comparison, number>();
  return {
    update(values, nowMs) {
      let trip: ConditionTrip | undefined;
      for (const { text, condition } of conditions) {
        const holds = evaluate(condition, values, nowMs, trueSince);
        if (holds && !trip) {
          const tripValues: Record<string, number> = {};
          for (const name of conditionVariables(condition)) {
            const value = values[name];
            if (value !== undefined) tripValues[name] = value;
          }
          trip = { condition: text, values: tripValues };
          log('abort condition tripped: %s %o', text, tripValues);
        }
      }
      return trip;
    },
  };
}
