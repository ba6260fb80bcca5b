// Injects faults with the Docker driver and then waits to be killed, standing in for a test
// runner that dies with its faults in place. Usage: inject-child.ts <input.json> <plans.json>
// where the input is { experimentKey, stack, faults }. Prints "applied" when all are in place.
import { readFileSync, writeFileSync } from 'node:fs';
import { dockerDriver } from '../../src/harness/drivers/docker/index.ts';
import type { FaultPlan } from '../../src/harness/faults/driver.ts';
import { faultSchema } from '../../src/harness/faults/spec.ts';
import { stackInfoSchema } from '../../src/harness/stack-info.ts';

const [inputFile = '', plansFile = ''] = process.argv.slice(2);
const input = JSON.parse(readFileSync(inputFile, 'utf8')) as {
  experimentKey: string;
  stack: unknown;
  faults: unknown[];
};
const context = { experimentKey: input.experimentKey, stack: stackInfoSchema.parse(input.stack) };
const plans: FaultPlan[] = [];
for (const raw of input.faults) {
  const plan = await dockerDriver.plan(faultSchema.parse(raw), context);
  // The plan is saved before apply, as the harness journal does.
  plans.push(plan);
  writeFileSync(plansFile, JSON.stringify(plans));
  await dockerDriver.apply(plan, context);
}
console.log('applied');
setInterval(() => {}, 60_000);
