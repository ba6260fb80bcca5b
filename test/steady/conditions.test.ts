import { describe, expect, it } from 'vitest';
import {
  ConditionSyntaxError,
  conditionVariables,
  createConditionWatcher,
  parseCondition,
  type Condition,
} from '../../src/harness/steady/conditions.ts';

function syntaxError(text: string): ConditionSyntaxError {
  try {
    parseCondition(text);
  } catch (error) {
    if (error instanceof ConditionSyntaxError) return error;
    throw error;
  }
  throw new Error(`"${text}" parsed without an error`);
}

describe('parseCondition', () => {
  it('parses a percentage with a for duration', () => {
    expect(parseCondition('probe_pass_rate < 90% for 30s')).toMatchObject({
      kind: 'comparison',
      variable: 'probe_pass_rate',
      variableKind: 'percent',
      op: '<',
      value: 90,
      forMs: 30_000,
      text: 'probe_pass_rate < 90% for 30s',
      column: 1,
    });
  });

  it('converts durations to milliseconds', () => {
    expect(parseCondition('checkout_p99 > 3s')).toMatchObject({ value: 3_000, forMs: 0 });
    expect(parseCondition('api_gateway_p99>=800ms')).toMatchObject({ op: '>=', value: 800 });
    expect(parseCondition('checkout_p99 > 250')).toMatchObject({ value: 250 });
  });

  it('binds AND tighter than OR', () => {
    const condition = parseCondition('a_up == 0 OR b_up == 0 AND c_error_rate > 5%');
    expect(condition.kind).toBe('or');
    const or = condition as Extract<Condition, { kind: 'or' }>;
    expect(or.operands).toHaveLength(2);
    expect(or.operands[0]).toMatchObject({ variable: 'a_up', value: 0 });
    expect(or.operands[1]).toMatchObject({ kind: 'and' });
  });

  it('groups with parentheses', () => {
    const condition = parseCondition('(a_up == 0 or b_up == 0) and probe_pass_rate < 99%');
    expect(condition.kind).toBe('and');
    const and = condition as Extract<Condition, { kind: 'and' }>;
    expect(and.operands[0]).toMatchObject({ kind: 'or' });
    expect(conditionVariables(condition)).toEqual(['a_up', 'b_up', 'probe_pass_rate']);
  });

  it('accepts raw gauges', () => {
    expect(parseCondition('payment_db:db_pool_in_use >= 10')).toMatchObject({
      variableKind: 'gauge',
      value: 10,
    });
  });

  it.each([
    ['', 1, 'a comparison'],
    ['probe_pass_rate <> 90%', 18, 'a value for probe_pass_rate'],
    ['probe_pass_rate 90%', 17, 'a comparison operator'],
    ['probe_pass_rate < 90% for', 26, 'a duration such as 30s'],
    ['probe_pass_rate < 90% for 30%', 27, 'a duration such as 30s'],
    ['checkout_p99 > 3sec', 16, 'a number with an optional unit'],
    ['checkout_p99 > 50%', 16, 'a duration such as 3s'],
    ['probe_pass_rate < 3s', 19, 'a percentage such as 90%'],
    ['checkout_latency > 3s', 1, 'a variable'],
    ['(checkout_p99 > 3s', 19, '")" to close'],
    ['checkout_p99 > 3s checkout_up == 0', 19, 'AND, OR or the end'],
    ['checkout_p99 > 3s AND', 22, 'a variable'],
    ['checkout_p99 > 3s & checkout_up == 0', 19, 'a variable, a comparison operator'],
  ])('rejects %j at column %i', (text, column, expected) => {
    const error = syntaxError(text);
    expect(error.code).toBe('CONDITION_SYNTAX');
    expect(error.text).toBe(text);
    expect(error.column).toBe(column);
    expect(error.expected).toContain(expected);
    expect(error.message).toContain(`column ${column}`);
  });

  it('points at the column in the message', () => {
    const error = syntaxError('checkout_p99 >> 3s');
    expect(error.column).toBe(15);
    expect(error.message).toContain(`  checkout_p99 >> 3s\n  ${' '.repeat(14)}^\n`);
  });
});

describe('createConditionWatcher', () => {
  function watcher(...texts: string[]) {
    return createConditionWatcher(texts.map((text) => ({ text, condition: parseCondition(text) })));
  }

  it('trips at once without a for duration', () => {
    const watch = watcher('checkout_p99 > 3s');
    expect(watch.update({ checkout_p99: 2_999 }, 0)).toBeUndefined();
    expect(watch.update({ checkout_p99: 3_001 }, 1_000)).toEqual({
      condition: 'checkout_p99 > 3s',
      values: { checkout_p99: 3_001 },
    });
  });

  it('waits for the for duration', () => {
    const watch = watcher('probe_pass_rate < 90% for 30s');
    expect(watch.update({ probe_pass_rate: 50 }, 0)).toBeUndefined();
    expect(watch.update({ probe_pass_rate: 50 }, 29_999)).toBeUndefined();
    expect(watch.update({ probe_pass_rate: 50 }, 30_000)?.condition).toBe(
      'probe_pass_rate < 90% for 30s',
    );
  });

  it('restarts the for timer after a break', () => {
    const watch = watcher('probe_pass_rate < 90% for 30s');
    watch.update({ probe_pass_rate: 50 }, 0);
    expect(watch.update({ probe_pass_rate: 95 }, 20_000)).toBeUndefined();
    expect(watch.update({ probe_pass_rate: 50 }, 25_000)).toBeUndefined();
    expect(watch.update({ probe_pass_rate: 50 }, 50_000)).toBeUndefined();
    expect(watch.update({ probe_pass_rate: 50 }, 55_000)).toBeDefined();
  });

  it('treats a missing value as false', () => {
    const watch = watcher('checkout_up == 0');
    expect(watch.update({}, 0)).toBeUndefined();
    expect(watch.update({ checkout_up: Number.NaN }, 1)).toBeUndefined();
    expect(watch.update({ checkout_up: 0 }, 2)).toBeDefined();
  });

  it('keeps the for timer across missing values', () => {
    const watch = watcher('probe_pass_rate < 90% for 2s');
    expect(watch.update({ probe_pass_rate: 0 }, 0)).toBeUndefined();
    expect(watch.update({}, 1_000)).toBeUndefined();
    expect(watch.update({}, 2_000)).toBeUndefined();
    expect(watch.update({ probe_pass_rate: 0 }, 2_100)).toBeDefined();
  });

  it('combines with OR and AND', () => {
    const watch = watcher('probe_pass_rate < 90% OR checkout_p99 > 3s AND checkout_up == 1');
    expect(watch.update({ probe_pass_rate: 99, checkout_p99: 4_000, checkout_up: 0 }, 0)).toBe(
      undefined,
    );
    const trip = watch.update({ probe_pass_rate: 99, checkout_p99: 4_000, checkout_up: 1 }, 1);
    expect(trip?.values).toEqual({ probe_pass_rate: 99, checkout_p99: 4_000, checkout_up: 1 });
  });

  it('returns the first condition that holds', () => {
    const watch = watcher('checkout_up == 0', 'checkout_p99 > 3s');
    expect(watch.update({ checkout_up: 1, checkout_p99: 5_000 }, 0)?.condition).toBe(
      'checkout_p99 > 3s',
    );
  });

  it('keeps for timers of later conditions running', () => {
    const watch = watcher('checkout_up == 0', 'probe_pass_rate < 90% for 10s');
    watch.update({ checkout_up: 0, probe_pass_rate: 10 }, 0);
    expect(watch.update({ checkout_up: 1, probe_pass_rate: 10 }, 10_000)?.condition).toBe(
      'probe_pass_rate < 90% for 10s',
    );
  });
});
