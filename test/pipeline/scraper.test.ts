import { once } from 'node:events';
import { createServer, type RequestListener, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { DirectScraper } from '../../fixtures/pipeline/scraper.ts';

const servers: Server[] = [];

async function serve(handler: RequestListener): Promise<string> {
  const server = createServer(handler).listen(0, '127.0.0.1');
  servers.push(server);
  await once(server, 'listening');
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}/metrics`;
}

afterEach(() => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections();
    server.close();
  }
});

describe('DirectScraper', () => {
  it('reports a hanging target as timed out', async () => {
    const url = await serve(() => undefined);
    const scraper = new DirectScraper([{ service: 'slow', metricsUrl: url }], {
      timeoutMs: 300,
      now: Date.now,
    });
    const startedMs = Date.now();
    const [result] = await scraper.scrape();
    expect(result).toMatchObject({ service: 'slow', ok: false, error: 'ETIMEDOUT' });
    expect(Date.now() - startedMs).toBeLessThan(2000);
  });

  it('reports an error status as a failed scrape', async () => {
    const url = await serve((_request, response) => {
      response.statusCode = 500;
      response.end('boom');
    });
    const [result] = await new DirectScraper([{ service: 'broken', metricsUrl: url }], {
      timeoutMs: 500,
      now: Date.now,
    }).scrape();
    expect(result).toMatchObject({ ok: false, error: 'HTTP 500' });
  });

  it('reads samples and the clock offset', async () => {
    const url = await serve((_request, response) => {
      response.setHeader('date', new Date(Date.now() + 60_000).toUTCString());
      response.end('http_server_requests_total{status="200"} 7\nignored_metric 1\n');
    });
    const [result] = await new DirectScraper([{ service: 'skewed', metricsUrl: url }], {
      timeoutMs: 500,
      now: Date.now,
    }).scrape();
    expect(result?.ok).toBe(true);
    if (!result?.ok) return;
    expect(result.snapshot.index.get('http_server_requests_total')?.[0]?.value).toBe(7);
    expect(result.snapshot.index.has('ignored_metric')).toBe(false);
    expect(result.snapshot.clockOffsetSeconds).toBeGreaterThan(58);
    expect(result.snapshot.clockOffsetSeconds).toBeLessThan(62);
  });
});
