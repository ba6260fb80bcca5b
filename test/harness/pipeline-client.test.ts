import { describe, expect, it } from 'vitest';
import { createPipelineClient } from '../../src/harness/pipeline/client.ts';
import { sendJson, startTestServer } from './support/http-server.ts';

const FIRED_S = 1_764_000_000;

describe('pipeline client alerts', () => {
  it('reads a bare list with seconds', async () => {
    await using server = await startTestServer((_request, response) =>
      sendJson(response, [
        {
          id: 'a1',
          service: 'payment-svc',
          signal: 'http_p99_ms',
          severity: 'high',
          fired_at: FIRED_S,
          summary: 'slow',
        },
      ]),
    );
    const result = await createPipelineClient({ baseUrl: server.url }).alerts(
      FIRED_S * 1_000 + 999,
    );
    expect(server.requests[0]?.url).toBe(`/alerts?since=${FIRED_S}`);
    expect(result).toEqual({
      ok: true,
      value: [
        {
          id: 'a1',
          service: 'payment-svc',
          signal: 'http_p99_ms',
          severity: 'high',
          firedAtMs: FIRED_S * 1_000,
          summary: 'slow',
        },
      ],
    });
  });

  it('reads ISO times and aliases in a wrapper', async () => {
    await using server = await startTestServer((_request, response) =>
      sendJson(response, {
        alerts: [
          {
            id: 7,
            svc: 'checkout-svc',
            metric: 'error_rate',
            startsAt: '2025-11-24T16:00:00.250Z',
          },
        ],
      }),
    );
    const result = await createPipelineClient({ baseUrl: server.url }).alerts(0);
    if (!result.ok) throw new Error(result.error.message);
    expect(result.value[0]?.id).toBe('7');
    expect(result.value[0]?.service).toBe('checkout-svc');
    expect(result.value[0]?.firedAtMs).toBe(Date.parse('2025-11-24T16:00:00.250Z'));
  });

  it('reads millisecond times', async () => {
    await using server = await startTestServer((_request, response) =>
      sendJson(response, {
        data: { alerts: [{ id: 'x', source: 'auth-svc', firedAt: FIRED_S * 1_000 + 123 }] },
      }),
    );
    const result = await createPipelineClient({ baseUrl: server.url }).alerts(0);
    expect(result.ok).toBe(true);
    expect(result.ok && result.value[0]?.firedAtMs).toBe(FIRED_S * 1_000 + 123);
  });

  it('applies a field map from config', async () => {
    await using server = await startTestServer((_request, response) =>
      sendJson(response, [{ id: 'x', labels: { host: 'kafka' }, timestamp: FIRED_S }]),
    );
    const client = createPipelineClient({
      baseUrl: server.url,
      fieldMap: { alert: { service: 'labels.host' } },
    });
    const result = await client.alerts(0);
    expect(result.ok).toBe(true);
    expect(result.ok && result.value[0]?.service).toBe('kafka');
  });

  it('records garbage with an excerpt', async () => {
    await using server = await startTestServer((_request, response) => {
      response.writeHead(200, { 'content-type': 'text/html' });
      response.end('<html>502 upstream gone</html>');
    });
    const client = createPipelineClient({ baseUrl: server.url });
    const result = await client.alerts(0);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.stage).toBe('alerts');
    expect(result.error.message).toContain('not JSON');
    expect(result.error.excerpt).toBe('<html>502 upstream gone</html>');
    expect(client.errors).toHaveLength(1);
  });

  it('records an alert without a service', async () => {
    await using server = await startTestServer((_request, response) =>
      sendJson(response, [{ id: 'a', fired_at: FIRED_S }]),
    );
    const result = await createPipelineClient({ baseUrl: server.url }).alerts(0);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.message).toContain('malformed response: service');
  });

  it('records an HTTP 500 with its body', async () => {
    await using server = await startTestServer((_request, response) =>
      sendJson(response, { error: 'detector crashed' }, 500),
    );
    const result = await createPipelineClient({ baseUrl: server.url }).alerts(0);
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.error.message).toBe('alerts: HTTP 500');
    expect(result.error.excerpt).toContain('detector crashed');
  });

  it('times out on a hanging server', async () => {
    await using server = await startTestServer(() => undefined);
    const startedAtMs = Date.now();
    const result = await createPipelineClient({ baseUrl: server.url, timeoutMs: 300 }).alerts(0);
    expect(Date.now() - startedAtMs).toBeLessThan(3_000);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.message).toContain('timed out');
  });

  it('records a refused connection', async () => {
    const server = await startTestServer(() => undefined);
    await server.close();
    const result = await createPipelineClient({ baseUrl: server.url }).alerts(0);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.error.message).toContain('ECONNREFUSED');
  });
});

describe('pipeline client correlate and rca', () => {
  it('sends the window in seconds', async () => {
    await using server = await startTestServer((_request, response) =>
      sendJson(response, {
        clusters: [
          {
            cluster_id: 'c1',
            alerts: [
              { id: 'a1', service: 'payment-svc' },
              { id: 'a2', service: 'checkout-svc' },
            ],
          },
        ],
      }),
    );
    const result = await createPipelineClient({ baseUrl: server.url }).correlate({
      startMs: 1_000_500,
      endMs: 1_060_200,
    });
    expect(JSON.parse(server.requests[0]?.body ?? '')).toEqual({
      window: { start: 1_000, end: 1_061 },
    });
    expect(result).toEqual({
      ok: true,
      value: [{ id: 'c1', alertIds: ['a1', 'a2'], services: ['payment-svc', 'checkout-svc'] }],
    });
  });

  it('sends the raw cluster to rca', async () => {
    const rawCluster = { id: 'c9', alert_ids: ['a1'], services: ['payment-svc'], score: 3 };
    await using server = await startTestServer((request, response) => {
      if (request.url === '/correlate') sendJson(response, [rawCluster]);
      else sendJson(response, { root: 'payment-svc', confidence: 0.8, evidence: ['p99 up'] });
    });
    const client = createPipelineClient({ baseUrl: server.url });
    const clusters = await client.correlate({ startMs: 0, endMs: 1 });
    if (!clusters.ok || !clusters.value[0]) throw new Error('no cluster');
    const answer = await client.rca(clusters.value[0]);
    expect(JSON.parse(server.requests[1]?.body ?? '')).toEqual({ cluster: rawCluster });
    expect(answer).toEqual({
      ok: true,
      value: {
        rootService: 'payment-svc',
        confidence: 0.8,
        evidence: ['p99 up'],
        ranked: undefined,
      },
    });
  });
});

describe('pipeline client clock offset', () => {
  it('estimates a skew from a time field', async () => {
    await using server = await startTestServer((_request, response) =>
      sendJson(response, { status: 'ok', time: (Date.now() + 60_000) / 1_000 }),
    );
    const offset = await createPipelineClient({ baseUrl: server.url }).estimateClockOffset();
    expect(offset?.source).toBe('body');
    expect(Math.abs((offset?.offsetMs ?? 0) - 60_000)).toBeLessThan(250);
  });

  it('estimates a skew from the Date header', async () => {
    await using server = await startTestServer((_request, response) => {
      response.setHeader('Date', new Date(Date.now() - 30_000).toUTCString());
      response.end('ok');
    });
    const offset = await createPipelineClient({ baseUrl: server.url }).estimateClockOffset({
      samples: 3,
    });
    expect(offset?.source).toBe('date-header');
    expect(Math.abs((offset?.offsetMs ?? 0) + 30_000)).toBeLessThan(1_000);
  });
});
