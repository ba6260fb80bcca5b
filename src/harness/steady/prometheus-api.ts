import { z } from 'zod';
import { errorMessage, SteadyStateError } from './errors.ts';

const sampleValue = z.tuple([z.number(), z.string()]);

const responseSchema = z.discriminatedUnion('status', [
  z.object({
    status: z.literal('success'),
    data: z.discriminatedUnion('resultType', [
      z.object({
        resultType: z.literal('matrix'),
        result: z.array(
          z.object({ metric: z.record(z.string(), z.string()), values: z.array(sampleValue) }),
        ),
      }),
      z.object({
        resultType: z.literal('vector'),
        result: z.array(z.object({ metric: z.record(z.string(), z.string()), value: sampleValue })),
      }),
      z.object({ resultType: z.literal('scalar'), result: sampleValue }),
      z.object({ resultType: z.literal('string'), result: sampleValue }),
    ]),
  }),
  z.object({ status: z.literal('error'), errorType: z.string(), error: z.string() }),
]);

/** One series of a range query: its labels and its `[unix ms, value]` points. */
export interface RangeSeries {
  labels: Record<string, string>;
  points: { atMs: number; value: number }[];
}

async function callApi(
  baseUrl: string,
  path: string,
  params: Record<string, string>,
  timeoutMs: number,
) {
  const url = new URL(path, baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
  for (const [key, value] of Object.entries(params)) url.searchParams.set(key, value);
  let body: unknown;
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const text = await response.text();
    try {
      body = JSON.parse(text);
    } catch {
      throw new Error(
        `HTTP ${response.status} with a body that is not JSON: ${JSON.stringify(text.slice(0, 120))}`,
      );
    }
  } catch (error) {
    throw new SteadyStateError(
      'PROMETHEUS_UNREACHABLE',
      `Prometheus at ${baseUrl} cannot be queried (GET ${url.pathname}: ${errorMessage(error)}). ` +
        'Start Prometheus or pass the URL of a running one.',
      { cause: error, value: baseUrl },
    );
  }
  const parsed = responseSchema.safeParse(body);
  if (!parsed.success) {
    throw new SteadyStateError(
      'PROMETHEUS_QUERY_FAILED',
      `Prometheus at ${baseUrl} returned an unexpected response to ${url.pathname}: ${parsed.error.message}`,
      { cause: parsed.error, value: body },
    );
  }
  if (parsed.data.status === 'error') {
    throw new SteadyStateError(
      'PROMETHEUS_QUERY_FAILED',
      `Prometheus rejected the query ${JSON.stringify(params.query)}: ${parsed.data.errorType}: ${parsed.data.error}`,
      { value: params.query },
    );
  }
  return parsed.data.data;
}

function toNumber(value: string): number {
  return value === '+Inf'
    ? Number.POSITIVE_INFINITY
    : value === '-Inf'
      ? Number.NEGATIVE_INFINITY
      : Number(value);
}

/**
 * Runs an instant query to check that Prometheus responds and that the PromQL is valid. Throws
 * `SteadyStateError` with `PROMETHEUS_UNREACHABLE` or `PROMETHEUS_QUERY_FAILED`.
 */
export async function checkPrometheusQuery(
  baseUrl: string,
  query: string,
  timeoutMs = 5_000,
): Promise<void> {
  await callApi(baseUrl, 'api/v1/query', { query }, timeoutMs);
}

/** Runs `/api/v1/query_range` and returns every series; times are unix ms in and out. */
export async function queryRange(
  baseUrl: string,
  query: string,
  range: { startMs: number; endMs: number; stepMs: number },
  timeoutMs = 10_000,
): Promise<RangeSeries[]> {
  const data = await callApi(
    baseUrl,
    'api/v1/query_range',
    {
      query,
      start: String(range.startMs / 1_000),
      end: String(range.endMs / 1_000),
      step: String(range.stepMs / 1_000),
    },
    timeoutMs,
  );
  if (data.resultType !== 'matrix') {
    throw new SteadyStateError(
      'PROMETHEUS_QUERY_FAILED',
      `Prometheus returned a ${data.resultType} for the range query ${JSON.stringify(query)}, expected a matrix.`,
      { value: query },
    );
  }
  return data.result.map((series) => ({
    labels: series.metric,
    points: series.values.map(([seconds, value]) => ({
      atMs: seconds * 1_000,
      value: toNumber(value),
    })),
  }));
}
