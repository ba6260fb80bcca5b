// Runs every benchmark in bench/ one after another (they measure timings, so never in
// parallel), then prints a summary table of their SUMMARY lines.
// Usage: npm run bench    or    npm run bench -- stack reporter   (only those benchmarks)
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';

const BENCH_DIR = import.meta.dirname;
const PER_BENCH_TIMEOUT_MS = 25 * 60_000;

interface Outcome {
  name: string;
  exitCode: number | null;
  summary: string;
  seconds: number;
}

function runBench(file: string): Promise<Outcome> {
  const name = file.replace(/\.bench\.ts$/, '');
  const startedAtMs = performance.now();
  console.log(`\n==== ${name}`);
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(BENCH_DIR, file)], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    const timer = setTimeout(() => child.kill('SIGTERM'), PER_BENCH_TIMEOUT_MS);
    let summary = '';
    createInterface({ input: child.stdout! }).on('line', (line) => {
      console.log(line);
      const match = /^SUMMARY [^:]+: (.*)$/.exec(line);
      if (match) summary = match[1]!;
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      const seconds = (performance.now() - startedAtMs) / 1000;
      resolve({ name, exitCode: code, summary: summary || '(no SUMMARY line)', seconds });
    });
  });
}

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const files = readdirSync(BENCH_DIR)
    .filter((file) => file.endsWith('.bench.ts'))
    .filter((file) => only.length === 0 || only.some((name) => file.startsWith(name)))
    .sort();
  const outcomes: Outcome[] = [];
  for (const file of files) outcomes.push(await runBench(file));
  console.log('\n==== Summary\n');
  console.log('| benchmark | exit | seconds | result |');
  console.log('|---|---|---|---|');
  for (const outcome of outcomes) {
    console.log(
      `| ${outcome.name} | ${outcome.exitCode ?? 'killed'} | ${outcome.seconds.toFixed(0)} | ${outcome.summary} |`,
    );
  }
  if (outcomes.some((outcome) => outcome.exitCode !== 0)) process.exitCode = 1;
}

await main();
