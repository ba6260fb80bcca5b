/**
 * Runs the fault layer as its own process: `tsx src/harness/fault-layer/main.ts <config.json>`.
 * Prints one JSON line with `adminUrl`, `httpRoutes` and `dnsForwarders` on stdout when ready,
 * and exits cleanly on SIGTERM or SIGINT.
 */
import { readFile } from 'node:fs/promises';
import { createLogger } from '../log.ts';
import { startFaultLayer } from './index.ts';

const log = createLogger('fault-layer');

async function main(): Promise<void> {
  const configPath = process.argv[2];
  if (!configPath) {
    throw new Error('Missing argument: usage `tsx src/harness/fault-layer/main.ts <config.json>`.');
  }
  const text = await readFile(configPath, 'utf8');
  let config: unknown;
  try {
    config = JSON.parse(text);
  } catch (error) {
    throw new Error(`${configPath} is not valid JSON: ${String(error)}`, { cause: error });
  }
  // startFaultLayer validates the config with zod and reports every invalid field.
  const layer = await startFaultLayer(config as Parameters<typeof startFaultLayer>[0]);
  const { adminUrl, httpRoutes, dnsForwarders } = layer;
  process.stdout.write(`${JSON.stringify({ adminUrl, httpRoutes, dnsForwarders })}\n`);
  const shutdown = (signal: NodeJS.Signals) => {
    log('received %s, stopping', signal);
    layer.stop().then(
      () => process.exit(0),
      (error: unknown) => {
        process.stderr.write(`fault layer: stop failed: ${String(error)}\n`);
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', shutdown);
  process.once('SIGINT', shutdown);
}

main().catch((error: unknown) => {
  process.stderr.write(`fault layer: ${error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
