import {
  chaosRecordSchema,
  META_KEY,
  type BaselineWindowRecord,
  type ExperimentRecord,
} from '../harness/record.ts';

/** The parts of a Vitest test module, suite or case that the collector reads. */
export interface MetaCarrier {
  meta(): object;
  /** Vitest's task id; suites and cases have one, and it names the task in warnings. */
  id?: string;
  fullName?: string;
  moduleId?: string;
  project?: { name: string };
}

/** The result of reading one task's meta. */
export type CollectResult = 'none' | 'added' | 'invalid';

/**
 * Collects chaos records from task meta. Experiments are keyed by id and baseline windows by
 * their start and end. A record seen twice (on a suite and on its test, or again when the run
 * ends) is stored once, and the record seen last wins.
 */
export class RecordCollector {
  readonly #experiments = new Map<string, ExperimentRecord>();
  readonly #windows = new Map<string, BaselineWindowRecord>();
  readonly #invalid = new Map<string, string>();

  /** Reads `meta().chaos` of a task and stores it when it parses as a chaos record. */
  add(task: MetaCarrier): CollectResult {
    const meta: Record<string, unknown> = { ...task.meta() };
    const value = meta[META_KEY];
    if (value === undefined) return 'none';
    const parsed = chaosRecordSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0];
      const where = issue === undefined ? '' : `${issue.path.join('.') || '(root)'}: `;
      this.#invalid.set(labelOf(task), `${where}${issue?.message ?? 'invalid'}`);
      return 'invalid';
    }
    this.#invalid.delete(labelOf(task));
    const record = parsed.data;
    if (record.kind === 'experiment') {
      this.#experiments.delete(record.id);
      this.#experiments.set(record.id, record);
    } else {
      this.#windows.set(`${record.startedAtMs}-${record.endedAtMs}`, record);
    }
    return 'added';
  }

  get experiments(): ExperimentRecord[] {
    return [...this.#experiments.values()];
  }

  get baselineWindows(): BaselineWindowRecord[] {
    return [...this.#windows.values()];
  }

  /** Tasks whose `meta().chaos` did not parse, with the first problem found. */
  get invalidRecords(): Map<string, string> {
    return new Map(this.#invalid);
  }

  get isEmpty(): boolean {
    return this.#experiments.size === 0 && this.#windows.size === 0 && this.#invalid.size === 0;
  }

  clear(): void {
    this.#experiments.clear();
    this.#windows.clear();
    this.#invalid.clear();
  }
}

function labelOf(task: MetaCarrier): string {
  return task.fullName ?? task.moduleId ?? task.id ?? 'unnamed task';
}
