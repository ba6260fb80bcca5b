import type { TestCase, TestModule, TestRunEndReason } from 'vitest/node';
import { chaosRecordSchema, META_KEY } from '../harness/record.ts';

/** The exit code of a chaos run and its reasons, printed under the scoreboard. */
export interface ExitDecision {
  exitCode: 0 | 1;
  /** Hypothesis assertions of completed experiments that failed: misses the gate scores. */
  scoredMisses: number;
  /** Failures the gate does not cover: harness errors, hook failures, other tests. */
  otherFailures: string[];
}

/** Tells whether a failed test is a hypothesis assertion of an experiment that completed. */
function isScoredMiss(testCase: TestCase): boolean {
  const parent = testCase.parent;
  if (parent.type !== 'suite') return false;
  const meta: Record<string, unknown> = { ...parent.meta() };
  const parsed = chaosRecordSchema.safeParse(meta[META_KEY]);
  return (
    parsed.success &&
    parsed.data.kind === 'experiment' &&
    parsed.data.status === 'completed' &&
    parent.errors().length === 0
  );
}

/**
 * Decides the exit code of a chaos run. A failed hypothesis assertion of a completed experiment
 * is a miss of the pipeline, and the acceptance gate scores misses. So the gate decides the exit
 * code, unless something else failed: an unhandled error, a failed hook or module, a test
 * outside an experiment, or an interrupted run. With the gate off, misses never fail the run.
 */
export function decideExitCode(input: {
  testModules: ReadonlyArray<TestModule>;
  unhandledErrors: ReadonlyArray<unknown>;
  reason: TestRunEndReason;
  gatePassed: boolean;
}): ExitDecision {
  const otherFailures: string[] = [];
  let scoredMisses = 0;
  if (input.reason === 'interrupted') otherFailures.push('the run was interrupted');
  if (input.unhandledErrors.length > 0) {
    otherFailures.push(`${input.unhandledErrors.length} unhandled error(s)`);
  }
  for (const testModule of input.testModules) {
    if (testModule.errors().length > 0) otherFailures.push(`errors in ${testModule.moduleId}`);
    for (const suite of testModule.children.allSuites()) {
      if (suite.errors().length > 0) otherFailures.push(`a hook of "${suite.fullName}" failed`);
    }
    for (const testCase of testModule.children.allTests('failed')) {
      if (isScoredMiss(testCase)) scoredMisses += 1;
      else otherFailures.push(`"${testCase.fullName}" failed`);
    }
  }
  const exitCode = otherFailures.length === 0 && input.gatePassed ? 0 : 1;
  return { exitCode, scoredMisses, otherFailures };
}

/** Formats the decision as the last line of the scoreboard. */
export function formatExitDecision(decision: ExitDecision): string {
  const misses =
    decision.scoredMisses > 0
      ? `; ${decision.scoredMisses} failed hypothesis assertion(s) are scored as misses above`
      : '';
  if (decision.otherFailures.length === 0) {
    return `Exit code ${decision.exitCode}: decided by the gate${misses}.\n`;
  }
  const listed = decision.otherFailures.slice(0, 5).join('; ');
  const more =
    decision.otherFailures.length > 5 ? ` and ${decision.otherFailures.length - 5} more` : '';
  return `Exit code 1: failures outside the gate: ${listed}${more}.\n`;
}
