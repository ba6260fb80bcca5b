import { describe, expect, it } from 'vitest';
import { RequirementError } from '../../src/harness/errors.ts';
import { startToxiproxyServer } from '../../src/harness/drivers/toxiproxy/server.ts';

function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('startToxiproxyServer', () => {
  it('serves /version on loopback and stops', async () => {
    const server = await startToxiproxyServer();
    expect(server.url).toBe(`http://127.0.0.1:${server.port}`);
    const response = await fetch(`${server.url}/version`);
    expect(response.status).toBe(200);
    expect(isAlive(server.pid)).toBe(true);

    await server.stop();
    expect(isAlive(server.pid)).toBe(false);
    await server.stop();
  });

  it('rejects a missing binary with the install command', async () => {
    const error = await startToxiproxyServer({ binary: '/nonexistent/toxiproxy-server' }).catch(
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(RequirementError);
    expect((error as RequirementError).code).toBe('REQUIREMENT_MISSING');
    expect((error as RequirementError).message).toContain('install-toxiproxy.sh');
  });
});
