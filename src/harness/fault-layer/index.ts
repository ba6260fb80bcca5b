import type { AddressInfo } from 'node:net';
import { createLogger } from '../log.ts';
import { NetworkFaultError } from '../drivers/toxiproxy/errors.ts';
import { createAdminServer } from './admin.ts';
import { DnsForwarder } from './dns-forwarder.ts';
import { HttpRoute } from './http-route.ts';
import { describeIssues, faultLayerConfigSchema, type FaultLayerConfig } from './schema.ts';

export type { FaultLayerConfig, HttpRule, HttpRuleInput, DnsRule } from './schema.ts';
export { httpRuleSchema, dnsRuleSchema, faultLayerConfigSchema } from './schema.ts';
export {
  FaultLayerClient,
  FaultLayerRequestError,
  FAULT_LAYER_REQUEST_TIMEOUT_MS,
} from './client.ts';
export type { RuleListing, DnsRuleInput } from './client.ts';

const log = createLogger('fault-layer');

/** A fault layer running in this process. */
export interface RunningFaultLayer {
  /** Admin API base URL, `http://127.0.0.1:<port>`. */
  adminUrl: string;
  /** Listener of each HTTP route, by route name. */
  httpRoutes: Record<string, { port: number; url: string }>;
  /** UDP port of each DNS forwarder on 127.0.0.1, by forwarder name. */
  dnsForwarders: Record<string, { port: number }>;
  /** Closes every listener. Idempotent. */
  stop(): Promise<void>;
  [Symbol.asyncDispose](): Promise<void>;
}

/**
 * Starts the L7 half of the fault layer on 127.0.0.1: one HTTP reverse proxy per route, one
 * DNS forwarder per service and the admin API. Throws a `NetworkFaultError` for an invalid
 * config or a port that cannot be bound, after closing what it had opened.
 */
export async function startFaultLayer(config: FaultLayerConfig): Promise<RunningFaultLayer> {
  const parsed = faultLayerConfigSchema.safeParse(config);
  if (!parsed.success) {
    throw new NetworkFaultError(
      'fault-layer-config-invalid',
      `Invalid fault layer config: ${describeIssues(parsed.error, config)}.`,
      { value: config },
    );
  }
  assertUnique('httpRoutes', parsed.data.httpRoutes);
  assertUnique('dnsForwarders', parsed.data.dnsForwarders);
  const routes = new Map<string, HttpRoute>();
  const forwarders = new Map<string, DnsForwarder>();
  const admin = createAdminServer(routes, forwarders);
  const closeAll = async () => {
    admin.closeAllConnections();
    await new Promise<void>((resolve) => admin.close(() => resolve()));
    await Promise.all([...routes.values()].map((route) => route.close()));
    await Promise.all([...forwarders.values()].map((forwarder) => forwarder.close()));
  };
  const result: Omit<RunningFaultLayer, 'stop' | typeof Symbol.asyncDispose> = {
    adminUrl: '',
    httpRoutes: {},
    dnsForwarders: {},
  };
  try {
    for (const { name, targetUrl, listenPort } of parsed.data.httpRoutes) {
      const route = new HttpRoute(name, targetUrl);
      routes.set(name, route);
      const port = await route.listen(listenPort);
      result.httpRoutes[name] = { port, url: `http://127.0.0.1:${port}` };
    }
    for (const { name, upstream, listenPort } of parsed.data.dnsForwarders) {
      const forwarder = new DnsForwarder(name, upstream);
      forwarders.set(name, forwarder);
      result.dnsForwarders[name] = { port: await forwarder.listen(listenPort) };
    }
    result.adminUrl = await listenAdmin(admin, parsed.data.adminPort ?? 0);
  } catch (error) {
    await closeAll().catch(() => undefined);
    throw new NetworkFaultError(
      'fault-layer-config-invalid',
      `The fault layer could not bind its listeners: ${String(error)}. ` +
        'Pick free ports or leave listenPort and adminPort unset for free ones.',
      { cause: error, value: config },
    );
  }
  log(
    'fault layer ready: admin %s, %d routes, %d dns forwarders',
    result.adminUrl,
    routes.size,
    forwarders.size,
  );
  let stopped: Promise<void> | undefined;
  const stop = () => (stopped ??= closeAll());
  return { ...result, stop, [Symbol.asyncDispose]: stop };
}

function assertUnique(field: string, entries: { name: string }[]): void {
  const seen = new Set<string>();
  for (const { name } of entries) {
    if (seen.has(name)) {
      throw new NetworkFaultError(
        'fault-layer-config-invalid',
        `Invalid fault layer config: ${field} has the name "${name}" twice; names must be unique.`,
        { value: name },
      );
    }
    seen.add(name);
  }
}

async function listenAdmin(admin: ReturnType<typeof createAdminServer>, port: number) {
  await new Promise<void>((resolve, reject) => {
    admin.once('error', reject);
    admin.listen(port, '127.0.0.1', () => {
      admin.off('error', reject);
      resolve();
    });
  });
  return `http://127.0.0.1:${(admin.address() as AddressInfo).port}`;
}
