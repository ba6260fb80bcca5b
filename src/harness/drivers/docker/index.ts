import { createDockerDriver } from './driver.ts';

export {
  createDockerDriver,
  DOCKER_DRIVER_NAME,
  DOCKER_FAULT_TYPES,
  supportsFault,
} from './driver.ts';
export type { DockerDriverOptions } from './driver.ts';
export { DEFAULT_SOCKET_PATH, defaultSocketPath } from './engine.ts';
export { DockerFaultError, isDockerFaultError } from './errors.ts';
export type { DockerFaultReason } from './errors.ts';
export { PORT_LABEL } from './faults/network.ts';
export { FAULT_MARKER_VARIABLE } from './faults/stress.ts';
export { COMPOSE_PROJECT_LABEL, COMPOSE_SERVICE_LABEL } from './targets.ts';

/**
 * The Docker driver on the default engine socket: faults on the containers of a
 * `stack.kind === 'docker'` stack, found by Compose service label or container name.
 */
export const dockerDriver = createDockerDriver();
