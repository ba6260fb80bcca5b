import { createSocket } from 'node:dgram';
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import dnsPacket from 'dns-packet';

/** Starts a real HTTP service on 127.0.0.1 that responds to every request with 200 and `body`. */
export async function startHttpService(
  body: string | Buffer = 'ok',
): Promise<{ url: string; port: number; server: Server; close(): Promise<void> }> {
  const server = createServer((_request, response) => {
    response.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const close = async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  };
  return { url: `http://127.0.0.1:${port}`, port, server, close };
}

/** The outcome of one HTTP request made on a new connection. */
export interface RequestResult {
  status: number | undefined;
  /** `ECONNRESET`, `ECONNREFUSED`, `timeout`, ... when the request failed. */
  error: string | undefined;
  elapsedMs: number;
  bytes: number;
}

/** Makes one GET on a new connection (no keep-alive) and never rejects. */
export function get(url: string, timeoutMs = 2_000): Promise<RequestResult> {
  const startedAt = performance.now();
  return new Promise((resolve) => {
    let settled = false;
    const finish = (result: Omit<RequestResult, 'elapsedMs'>) => {
      if (settled) return;
      settled = true;
      resolve({ ...result, elapsedMs: performance.now() - startedAt });
    };
    const req = httpRequest(url, { agent: false }, (response) => {
      let bytes = 0;
      response.on('data', (chunk: Buffer) => (bytes += chunk.length));
      response.on('end', () => finish({ status: response.statusCode, error: undefined, bytes }));
      response.on('error', (error: NodeJS.ErrnoException) =>
        finish({ status: response.statusCode, error: error.code ?? error.message, bytes }),
      );
    });
    // A timer rather than req.setTimeout, which starts only once the socket is connected, so a
    // dropped SYN would wait for the kernel's retransmissions.
    const timer = setTimeout(() => {
      finish({ status: undefined, error: 'timeout', bytes: 0 });
      req.destroy();
    }, timeoutMs);
    req.on('close', () => clearTimeout(timer));
    req.on('error', (error: NodeJS.ErrnoException) =>
      finish({ status: undefined, error: error.code ?? error.message, bytes: 0 }),
    );
    req.end();
  });
}

/** Runs `count` calls of `task` with at most `concurrency` at a time, in order of index. */
export async function runPool<T>(
  count: number,
  concurrency: number,
  task: (index: number) => Promise<T>,
): Promise<T[]> {
  const results: T[] = new Array<T>(count);
  let next = 0;
  const worker = async () => {
    while (next < count) {
      const index = next++;
      results[index] = await task(index);
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, count) }, worker));
  return results;
}

/** Starts a real UDP DNS server on 127.0.0.1 that resolves every A query to 127.0.0.1. */
export async function startDnsServer(): Promise<{ port: number; close(): Promise<void> }> {
  const socket = createSocket('udp4');
  socket.on('message', (message, client) => {
    const query = dnsPacket.decode(message);
    const answer = dnsPacket.encode({
      type: 'response',
      id: query.id,
      flags: dnsPacket.RECURSION_DESIRED,
      questions: query.questions,
      answers: (query.questions ?? []).map((question) => ({
        type: 'A' as const,
        name: question.name,
        ttl: 5,
        data: '127.0.0.1',
      })),
    });
    socket.send(answer, client.port, client.address);
  });
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', resolve));
  const close = () => new Promise<void>((resolve) => socket.close(() => resolve()));
  return { port: socket.address().port, close };
}

/** Sends one A query over UDP and returns the first answer's address and the time it took. */
export async function resolveA(
  port: number,
  name: string,
  timeoutMs = 3_000,
): Promise<{ address: string | undefined; elapsedMs: number }> {
  const socket = createSocket('udp4');
  const startedAt = performance.now();
  const id = Math.floor(Math.random() * 65_535);
  try {
    const response = await new Promise<Buffer>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`DNS query timed out (${timeoutMs} ms)`)),
        timeoutMs,
      );
      socket.once('message', (message) => {
        clearTimeout(timer);
        resolve(message);
      });
      const query = dnsPacket.encode({
        type: 'query',
        id,
        flags: dnsPacket.RECURSION_DESIRED,
        questions: [{ type: 'A', name }],
      });
      socket.send(query, port, '127.0.0.1');
    });
    const answer = dnsPacket.decode(response).answers?.[0];
    const address = answer && answer.type === 'A' ? answer.data : undefined;
    return { address, elapsedMs: performance.now() - startedAt };
  } finally {
    socket.close();
  }
}

/** Returns the value at quantile `q` (0..1) of `values`. */
export function quantile(values: number[], q: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? Number.NaN;
}

/** The edge every network test injects on, and its Toxiproxy proxy name. */
export const EDGE = { caller: 'checkout-svc', callee: 'payment-svc' } as const;
export const PROXY = 'checkout-svc__payment-svc';

/** Creates a proxy on a Toxiproxy server from a free loopback port to `upstream`; returns its listen address. */
export async function createProxy(
  toxiproxyUrl: string,
  name: string,
  upstream: string,
): Promise<string> {
  const response = await fetch(`${toxiproxyUrl}/proxies`, {
    method: 'POST',
    body: JSON.stringify({ name, listen: '127.0.0.1:0', upstream }),
  });
  if (!response.ok)
    throw new Error(`creating proxy ${name} failed: ${response.status} ${await response.text()}`);
  const proxy = (await response.json()) as { listen: string };
  return proxy.listen;
}

/** Returns the toxics and the enabled flag of a proxy, straight from the Toxiproxy API. */
export async function proxyState(
  toxiproxyUrl: string,
  name: string,
): Promise<{ enabled: boolean; toxics: { name: string; type: string }[] }> {
  const response = await fetch(`${toxiproxyUrl}/proxies/${name}`);
  if (!response.ok) throw new Error(`reading proxy ${name} failed: ${response.status}`);
  return (await response.json()) as { enabled: boolean; toxics: { name: string; type: string }[] };
}

/** Returns the median of `values`. */
export function median(values: number[]): number {
  return quantile(values, 0.5);
}
