import { ConfigError } from '../harness/errors.ts';
import type { StackInfo } from '../harness/stack-info.ts';

/** The embedded stack run as Docker Compose services. */
export interface DockerStack {
  info: StackInfo;
  stop(): Promise<void>;
}

/** Starts the embedded stack under Docker Compose. */
export async function startDockerStack(_runDir: string): Promise<DockerStack> {
  // TODO: start fixtures/docker/compose.yaml and describe it as a StackInfo of kind docker.
  throw new ConfigError(
    'CHAOS_TARGET',
    'CHAOS_TARGET=docker cannot start the embedded stack yet.',
    {
      value: 'docker',
      fix: 'Unset CHAOS_TARGET to run the embedded stack as local processes.',
    },
  );
}
