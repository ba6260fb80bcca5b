// Runs a probe in its own process for the cross-process log reader test:
// node --import tsx probe-child.ts <url> <logFile> <intervalMs> <durationMs>
import { setTimeout as sleep } from 'node:timers/promises';
import { startProbe } from '../../src/harness/steady/probe.ts';

const [url = '', logFile = '', intervalMs = '100', durationMs = '1000'] = process.argv.slice(2);
const probe = startProbe({ url, logFile, intervalMs: Number(intervalMs), latencyBoundMs: 300 });
await sleep(Number(durationMs));
await probe.stop();
console.log(JSON.stringify(probe.checks()));
