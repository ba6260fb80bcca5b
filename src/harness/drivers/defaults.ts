import { registerDriver } from '../faults/registry.ts';
import { dnsDelayDriver } from './dns/index.ts';
import { dockerDriver } from './docker/index.ts';
import { httpFaultProxyDriver } from './http-fault-proxy/index.ts';
import { iptablesDriver } from './iptables/index.ts';
import { processDriver } from './process/index.ts';
import { toxiproxyDriver } from './toxiproxy/index.ts';

// Importing this module registers the built-in drivers, in the order `resolveDriver` tries them
// when a fault names none. The journal records this module so a cleanup in a new process can
// load the drivers again.
const module = import.meta.url;
for (const driver of [
  toxiproxyDriver,
  iptablesDriver,
  httpFaultProxyDriver,
  dnsDelayDriver,
  processDriver,
  dockerDriver,
]) {
  registerDriver(driver, { module });
}
