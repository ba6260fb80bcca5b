import { describe, expect, it } from 'vitest';
import type { TestSpecification } from 'vitest/node';
import { ChaosSequencer } from '../src/harness/sequencer.ts';

describe('ChaosSequencer', () => {
  it('sorts suites by file name', async () => {
    const sequencer = Object.create(ChaosSequencer.prototype) as ChaosSequencer;
    const files = [
      '/x/chaos/03-c.chaos.ts',
      '/x/chaos/00-a.chaos.ts',
      '/x/chaos/01-b.chaos.ts',
    ].map((moduleId) => ({ moduleId }) as TestSpecification);
    const sorted = await sequencer.sort(files);
    expect(sorted.map((file) => file.moduleId)).toEqual([
      '/x/chaos/00-a.chaos.ts',
      '/x/chaos/01-b.chaos.ts',
      '/x/chaos/03-c.chaos.ts',
    ]);
  });
});
