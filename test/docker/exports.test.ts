import { describe, expect, it } from 'vitest';
import * as docker from '../../src/harness/drivers/docker/index.ts';
import { engineCall } from '../../src/harness/drivers/docker/engine.ts';
import { chooseReplicas, type ContainerRef } from '../../src/harness/drivers/docker/targets.ts';

function refs(count: number): (ContainerRef & { running: boolean })[] {
  return Array.from({ length: count }, (_, index) => ({
    id: `id${index + 1}`,
    name: `project-svc-${index + 1}`,
    service: 'svc',
    project: 'project',
    number: index + 1,
    running: true,
  }));
}

describe('docker driver module', () => {
  it('exports a fixed list', () => {
    expect(Object.keys(docker).sort()).toEqual([
      'COMPOSE_PROJECT_LABEL',
      'COMPOSE_SERVICE_LABEL',
      'DEFAULT_SOCKET_PATH',
      'DOCKER_DRIVER_NAME',
      'DOCKER_FAULT_TYPES',
      'DockerFaultError',
      'FAULT_MARKER_VARIABLE',
      'PORT_LABEL',
      'createDockerDriver',
      'defaultSocketPath',
      'dockerDriver',
      'isDockerFaultError',
      'supportsFault',
    ]);
  });

  it('maps socket errors to reasons', async () => {
    const denied = Object.assign(new Error('connect EACCES'), { code: 'EACCES' });
    const missing = Object.assign(new Error('connect ENOENT'), { code: 'ENOENT' });
    const permissionError: unknown = await engineCall('/run/x.sock', 'ping', () =>
      Promise.reject(denied),
    ).catch((error: unknown) => error);
    const missingError: unknown = await engineCall('/run/x.sock', 'ping', () =>
      Promise.reject(missing),
    ).catch((error: unknown) => error);

    expect(docker.isDockerFaultError(permissionError, 'socket-permission')).toBe(true);
    expect(docker.isDockerFaultError(missingError, 'engine-unreachable')).toBe(true);
    expect(String(missingError)).toContain('/run/x.sock');
  });

  it('reads the socket from DOCKER_HOST', () => {
    expect(docker.defaultSocketPath({ DOCKER_HOST: 'unix:///tmp/d.sock' })).toBe('/tmp/d.sock');
    expect(docker.defaultSocketPath({ DOCKER_HOST: 'tcp://127.0.0.1:2375' })).toBe(
      docker.DEFAULT_SOCKET_PATH,
    );
  });

  it('chooses replicas by seed', () => {
    const five = refs(5);
    const first = chooseReplicas(five, 2, 42).map((ref) => ref.id);
    const again = chooseReplicas(five, 2, 42).map((ref) => ref.id);
    const picks = new Set(
      Array.from({ length: 20 }, (_, seed) => chooseReplicas(five, 'one', seed)[0]?.id),
    );

    expect(first).toEqual(again);
    expect(first).toHaveLength(2);
    expect(chooseReplicas(five, 'all', 1)).toHaveLength(5);
    expect(chooseReplicas(five, 9, 1)).toHaveLength(5);
    expect(picks.size).toBeGreaterThan(1);
  });

  it('supports only docker stacks and service targets', () => {
    const stack = {
      kind: 'docker' as const,
      services: [],
      edges: [],
      topology: {},
      probeUrl: 'http://127.0.0.1:1/',
    };
    const pause = { type: 'process_pause' as const, target: 'svc' };

    expect(docker.supportsFault(pause, stack)).toBe(true);
    expect(docker.supportsFault(pause, { ...stack, kind: 'process' })).toBe(false);
    expect(docker.supportsFault({ ...pause, target: 'a->b' }, stack)).toBe(false);
    expect(
      docker.supportsFault(
        { type: 'network_loss', target: 'svc', probability: 0.1, mechanism: 'connection' },
        stack,
      ),
    ).toBe(false);
    expect(
      docker.supportsFault(
        { type: 'latency', target: 'svc', latency: 100, jitter: 0, direction: 'downstream' },
        stack,
      ),
    ).toBe(false);
  });
});
