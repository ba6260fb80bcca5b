import { join } from 'node:path';
import {
  COMPOSE_FILE,
  startDockerStack as startComposeStack,
} from '../../fixtures/docker/stack.ts';
import { startToxiproxyServer } from '../harness/drivers/toxiproxy/server.ts';
import type { StackInfo } from '../harness/stack-info.ts';

/** The embedded stack run as Docker Compose services, with the Toxiproxy its edges pass through. */
export interface DockerStack {
  info: StackInfo;
  /** Compose project and file, so the watchdog can remove the containers after a crash. */
  compose: { project: string; file: string; stateDir: string };
  toxiproxyPid: number;
  stop(): Promise<void>;
}

/**
 * Starts Toxiproxy and the embedded stack under Docker Compose (every container on the host
 * network). Needs a running Docker engine: `bash scripts/docker-setup.sh` starts one.
 */
export async function startDockerStack(runDir: string): Promise<DockerStack> {
  const toxiproxy = await startToxiproxyServer();
  const stateDir = join(runDir, 'stack');
  const project = `vitest-chaos-${process.pid}`;
  try {
    const stack = await startComposeStack({ toxiproxyUrl: toxiproxy.url, stateDir, project });
    return {
      info: stack.info,
      compose: { project, file: COMPOSE_FILE, stateDir },
      toxiproxyPid: toxiproxy.pid,
      stop: async () => {
        await stack.stop();
        await toxiproxy.stop();
      },
    };
  } catch (error) {
    await toxiproxy.stop();
    throw error;
  }
}
