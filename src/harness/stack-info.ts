import { z } from 'zod';

/** One service of the stack under test, as the drivers and the probe reach it. */
export const serviceInfoSchema = z.object({
  name: z.string(),
  /** Base URL of the service's own HTTP listener, on loopback for the embedded stack. */
  url: z.string(),
  port: z.number().int(),
  healthPath: z.string().default('/health'),
  metricsPath: z.string().default('/metrics'),
  /** Process id when the service is a local process; it changes after a restart. */
  pid: z.number().int().optional(),
  /** Folder the service writes to (logs, data); disk faults fill the volume it sits on. */
  dataDir: z.string().optional(),
  /** libfaketime timestamp file read by the process, for clock skew without a restart. */
  clockFile: z.string().optional(),
  /** Config file the service reads, for config corruption. */
  configFile: z.string().optional(),
  /** Docker container id or name when the service runs in a container. */
  container: z.string().optional(),
  /** Memory limit of the service in MiB, where one is set. */
  memoryLimitMb: z.number().optional(),
});
export type ServiceInfo = z.infer<typeof serviceInfoSchema>;

/** One dependency edge, caller to callee, and the fault-layer listeners it passes through. */
export const edgeInfoSchema = z.object({
  caller: z.string(),
  callee: z.string(),
  /** Name of the Toxiproxy proxy that carries this edge's connections. */
  toxiproxyProxy: z.string().optional(),
  /** Route name of this edge in the HTTP fault proxy. */
  httpProxyRoute: z.string().optional(),
});
export type EdgeInfo = z.infer<typeof edgeInfoSchema>;

/**
 * Everything a driver, the probe and the pipeline need to know about a running stack. The
 * embedded stack writes it to `stack.json` in its state folder; a user describes their own.
 */
export const stackInfoSchema = z.object({
  kind: z.enum(['process', 'docker', 'external']),
  /** Name and version of the stack, recorded in the results. */
  version: z.string().optional(),
  services: z.array(serviceInfoSchema),
  edges: z.array(edgeInfoSchema).default([]),
  /** Dependencies per service (caller to its callees), the graph given to the pipeline. */
  topology: z.record(z.string(), z.array(z.string())).default({}),
  /** The user-facing endpoint the synthetic probe calls. */
  probeUrl: z.string(),
  /** Toxiproxy API base URL, when the stack's edges pass through Toxiproxy. */
  toxiproxyUrl: z.string().optional(),
  /** Admin API base URL of the HTTP fault proxy and the DNS delay forwarders. */
  faultLayerUrl: z.string().optional(),
  /** Admin API base URL of the supervisor that restarts killed services. */
  supervisorUrl: z.string().optional(),
  /** Folder with the stack's runtime state (pid files, clock files, volumes). */
  stateDir: z.string().optional(),
  /** Docker Compose project name, for the Docker driver. */
  composeProject: z.string().optional(),
});
export type StackInfo = z.infer<typeof stackInfoSchema>;

/** Finds a service by name or throws an error that lists the known names. */
export function findService(stack: StackInfo, name: string): ServiceInfo {
  const service = stack.services.find((candidate) => candidate.name === name);
  if (!service) {
    const known = stack.services.map((candidate) => candidate.name).join(', ');
    throw new Error(`Service "${name}" is not in the stack. Known services: ${known}.`);
  }
  return service;
}
