import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * Runs chaos suites one file at a time in file-name order (`00-baseline`, `01-...`), instead of
 * the order Vitest picks from past durations, so a campaign is the same sequence every run.
 */
export class ChaosSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    return [...files].sort((left, right) => left.moduleId.localeCompare(right.moduleId));
  }

  override async shard(files: TestSpecification[]): Promise<TestSpecification[]> {
    return super.shard(await this.sort(files));
  }
}
