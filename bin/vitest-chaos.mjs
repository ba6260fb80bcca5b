#!/usr/bin/env node
// Entry point of the `vitest-chaos` command: registers tsx so the TypeScript sources run as
// they are in a fresh checkout, then hands over to the CLI.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
process.exitCode = await main(process.argv.slice(2));
