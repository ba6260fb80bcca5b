// Injects faults through the harness (journal entry, then the Docker driver) and waits to be
// killed, standing in for a test runner that dies with its faults in place.
// Usage: inject-child.ts <input.json> <journal dir>, where the input is
// { experimentKey, stack, faults }. Prints "applied" once every fault is in place.
import { readFileSync } from 'node:fs';
import '../../src/harness/drivers/docker/register.ts';
import { injectFault } from '../../src/harness/faults/lifecycle.ts';
import { faultSchema } from '../../src/harness/faults/spec.ts';
import { createJournal } from '../../src/harness/journal/journal.ts';
import { stackInfoSchema } from '../../src/harness/stack-info.ts';

const [inputFile = '', journalDir = ''] = process.argv.slice(2);
const input = JSON.parse(readFileSync(inputFile, 'utf8')) as {
  experimentKey: string;
  stack: unknown;
  faults: unknown[];
};
const journal = createJournal({ dir: journalDir });
const context = { experimentKey: input.experimentKey, stack: stackInfoSchema.parse(input.stack) };
for (const raw of input.faults) {
  await injectFault(faultSchema.parse(raw), context, journal);
}
console.log('applied');
setInterval(() => {}, 60_000);
