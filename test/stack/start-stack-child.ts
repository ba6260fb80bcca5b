// Starts the embedded stack in this process and prints its state folder, for tests that kill
// this process abruptly. Arguments: <toxiproxy url> [<state folder>], default a temp folder.
import { startStack } from '../../fixtures/stack/index.ts';

const [toxiproxyUrl, stateDir] = process.argv.slice(2);
if (!toxiproxyUrl) throw new Error('usage: start-stack-child.ts <toxiproxy url> [<state folder>]');
const stack = await startStack({
  toxiproxyUrl,
  workload: { ratePerSecond: 2 },
  ...(stateDir ? { stateDir } : {}),
});
console.log(`READY ${stack.info.stateDir}`);
setInterval(() => undefined, 60_000);
