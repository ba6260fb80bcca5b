import { request } from 'node:http';

/** The outcome of one probe request through a proxy. */
export interface ProbeResult {
  status: number | undefined;
  /** Socket error code (`ECONNREFUSED`, `ECONNRESET`) or `timeout`; undefined on a response. */
  error: string | undefined;
  elapsedMs: number;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '::1', '[::1]']);
const UNSPECIFIED_HOSTS = new Set(['', '0.0.0.0', '::', '[::]']);

/**
 * Returns the loopback host and port a Toxiproxy `listen` address can be reached on, or
 * undefined when it listens elsewhere: probes send traffic to loopback only.
 */
export function loopbackAddress(listen: string): { host: string; port: number } | undefined {
  const separator = listen.lastIndexOf(':');
  if (separator < 0) return undefined;
  const host = listen.slice(0, separator);
  const port = Number(listen.slice(separator + 1));
  if (!Number.isInteger(port) || port <= 0) return undefined;
  if (UNSPECIFIED_HOSTS.has(host)) return { host: '127.0.0.1', port };
  if (!LOOPBACK_HOSTS.has(host)) return undefined;
  return { host: host.replace(/^\[|\]$/g, ''), port };
}

/** Sends one GET on a new connection and reports the outcome; never rejects. */
export function probeHttp(
  address: { host: string; port: number },
  path: string,
  timeoutMs: number,
): Promise<ProbeResult> {
  const startedAt = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const finish = (status: number | undefined, error: string | undefined) => {
      if (settled) return;
      settled = true;
      resolve({ status, error, elapsedMs: performance.now() - startedAt });
    };
    const req = request({ ...address, path, agent: false }, (response) => {
      response.resume();
      response.on('end', () => finish(response.statusCode, undefined));
      response.on('error', (error: NodeJS.ErrnoException) =>
        finish(response.statusCode, error.code ?? error.message),
      );
    });
    // A timer rather than req.setTimeout, which starts only once the socket is connected.
    const timer = setTimeout(() => {
      finish(undefined, 'timeout');
      req.destroy();
    }, timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', (error: NodeJS.ErrnoException) =>
      finish(undefined, error.code ?? error.message),
    );
    req.end();
  });
}
