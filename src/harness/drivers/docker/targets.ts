import { z } from 'zod';
import type { Fault } from '../../faults/spec.ts';
import type { StackInfo } from '../../stack-info.ts';
import { engineCall, engineClient, inspectContainer, type ContainerState } from './engine.ts';
import { DockerFaultError } from './errors.ts';

/** Compose labels that name a container's service, project and replica number. */
export const COMPOSE_SERVICE_LABEL = 'com.docker.compose.service';
export const COMPOSE_PROJECT_LABEL = 'com.docker.compose.project';
export const COMPOSE_NUMBER_LABEL = 'com.docker.compose.container-number';

/**
 * One container a fault acts on, as written into the plan: the id, and the Compose service,
 * project, replica number and name that find it again after it was recreated with a new id.
 */
export const containerRefSchema = z.object({
  id: z.string(),
  name: z.string(),
  service: z.string().nullable(),
  project: z.string().nullable(),
  number: z.number().int().nullable(),
});
export type ContainerRef = z.infer<typeof containerRefSchema>;

interface ListedContainer {
  Id: string;
  Names?: string[];
  Labels?: Record<string, string>;
  State?: string;
}

function toRef(container: ListedContainer): ContainerRef & { running: boolean } {
  const labels = container.Labels ?? {};
  const number = Number(labels[COMPOSE_NUMBER_LABEL]);
  return {
    id: container.Id,
    name: (container.Names?.[0] ?? container.Id).replace(/^\//, ''),
    service: labels[COMPOSE_SERVICE_LABEL] ?? null,
    project: labels[COMPOSE_PROJECT_LABEL] ?? null,
    number: Number.isInteger(number) ? number : null,
    running: container.State === 'running' || container.State === 'paused',
  };
}

async function listContainers(
  socketPath: string,
  filters: Record<string, string[]>,
): Promise<(ContainerRef & { running: boolean })[]> {
  const docker = engineClient(socketPath);
  const listed = await engineCall(socketPath, `list containers ${JSON.stringify(filters)}`, () =>
    docker.listContainers({ all: true, filters }),
  );
  return listed.map(toRef).sort(compareRefs);
}

function compareRefs(left: ContainerRef, right: ContainerRef): number {
  const byNumber = (left.number ?? 0) - (right.number ?? 0);
  return byNumber !== 0 ? byNumber : left.name.localeCompare(right.name);
}

function serviceFilter(service: string, project: string | null | undefined): string[] {
  const labels = [`${COMPOSE_SERVICE_LABEL}=${service}`];
  if (project) labels.push(`${COMPOSE_PROJECT_LABEL}=${project}`);
  return labels;
}

function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/**
 * Finds the containers of a target: the replicas of the Compose service of that name (in the
 * stack's Compose project when it names one), else the container the stack lists for the
 * service, else the container of that name. Throws a `target-not-found` error when none fits.
 */
export async function findTargetContainers(
  socketPath: string,
  target: string,
  stack: StackInfo | undefined,
): Promise<(ContainerRef & { running: boolean })[]> {
  const replicas = await listContainers(socketPath, {
    label: serviceFilter(target, stack?.composeProject),
  });
  if (replicas.length > 0) return replicas;
  const listed = stack?.services.find((service) => service.name === target)?.container;
  const byName = await listContainers(socketPath, {
    name: [`^/${escapeRegExp(listed ?? target)}$`],
  });
  if (byName.length > 0) return byName;
  throw await targetNotFound(socketPath, target, stack?.composeProject);
}

async function targetNotFound(
  socketPath: string,
  target: string,
  project: string | undefined,
): Promise<DockerFaultError> {
  const composed = await listContainers(socketPath, { label: [COMPOSE_SERVICE_LABEL] });
  const services = [
    ...new Set(composed.map((ref) => `${ref.project ?? '?'}/${ref.service ?? '?'}`)),
  ];
  const scope = project ? ` in Compose project "${project}"` : '';
  return new DockerFaultError(
    'target-not-found',
    `No container matches target "${target}": none has the label ${COMPOSE_SERVICE_LABEL}=${target}${scope} and none is named "${target}".`,
    {
      value: target,
      fix: `Start the stack first, or name one of the Compose services found: ${services.join(', ') || 'none'}.`,
    },
  );
}

/** Returns a pseudo-random generator of numbers in [0, 1) for a 32-bit seed (mulberry32). */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let value = state;
    value = Math.imul(value ^ (value >>> 15), value | 1);
    value ^= value + Math.imul(value ^ (value >>> 7), value | 61);
    return ((value ^ (value >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** Hashes text to a 32-bit seed (FNV-1a). */
export function seedFromText(text: string): number {
  let hash = 0x811c9dc5;
  for (const char of text) {
    hash ^= char.codePointAt(0) ?? 0;
    hash = Math.imul(hash, 0x01000193) >>> 0;
  }
  return hash;
}

/**
 * Picks the replicas a fault hits: all of them (the default), one, or a count, chosen with the
 * seed among the running replicas (among all when none runs), in replica order.
 */
export function chooseReplicas<T extends ContainerRef & { running: boolean }>(
  candidates: T[],
  instances: Fault['instances'],
  seed: number,
): T[] {
  const running = candidates.filter((candidate) => candidate.running);
  const pool = running.length > 0 ? running : candidates;
  if (instances === undefined || instances === 'all') return pool;
  const count = Math.min(instances === 'one' ? 1 : instances, pool.length);
  const random = seededRandom(seed);
  const shuffled = [...pool];
  for (let index = shuffled.length - 1; index > 0; index -= 1) {
    const swap = Math.floor(random() * (index + 1));
    [shuffled[index], shuffled[swap]] = [shuffled[swap] as T, shuffled[index] as T];
  }
  return shuffled.slice(0, count).sort(compareRefs);
}

/**
 * Finds the current container of a plan's reference: the same id, else the replica with the
 * same Compose project, service and number, else the container of the same name. Returns
 * undefined when it is gone.
 */
export async function relocateContainer(
  socketPath: string,
  ref: ContainerRef,
): Promise<ContainerState | undefined> {
  const same = await inspectContainer(socketPath, ref.id);
  if (same) return same;
  if (ref.service !== null) {
    const labels = serviceFilter(ref.service, ref.project);
    if (ref.number !== null) labels.push(`${COMPOSE_NUMBER_LABEL}=${ref.number}`);
    const [replica] = await listContainers(socketPath, { label: labels });
    if (replica) return inspectContainer(socketPath, replica.id);
  }
  return inspectContainer(socketPath, ref.name);
}
