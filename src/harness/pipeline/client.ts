import axios, { type AxiosResponse } from 'axios';
import { z } from 'zod';
import { createLogger } from '../log.ts';
import {
  normalizeAlert,
  normalizeCluster,
  normalizeRca,
  toUnixMs,
  unwrapList,
  type FieldMap,
} from './normalize.ts';
import type { Alert, Cluster, PipelineError, RcaAnswer } from './types.ts';

const log = createLogger('pipeline');

/** Length of the response excerpt kept with a pipeline error, in characters. */
const EXCERPT_LENGTH = 300;

/** The outcome of one pipeline call: a value, or the recorded error. It never throws. */
export type PipelineResult<T> = { ok: true; value: T } | { ok: false; error: PipelineError };

/** An estimate of the pipeline clock minus the harness clock. */
export interface ClockOffset {
  offsetMs: number;
  /** Round trip of the sample the estimate comes from; the error is at most half of it. */
  roundTripMs: number;
  /** Source of the pipeline time: a `time`/`now` field of `/health`, or the `Date` header. */
  source: 'body' | 'date-header';
  samples: number;
}

export interface PipelineClientOptions {
  /** Base URL, for example `http://127.0.0.1:8000`. */
  baseUrl: string;
  /** Timeout of one request in milliseconds; default 5000. */
  timeoutMs?: number;
  /** Field names of the pipeline mapped to ours, for shapes the aliases do not cover. */
  fieldMap?: FieldMap;
  /** Rewrites a raw response body before normalisation, for shapes a field map cannot express. */
  mapResponse?: (stage: PipelineError['stage'], body: unknown) => unknown;
  /** Harness clock; default `Date.now`. */
  now?: () => number;
}

export interface PipelineClient {
  readonly baseUrl: string;
  /** `GET /alerts?since=<unix s>`: alerts fired since `sinceMs` (unix ms, rounded down to seconds). */
  alerts(sinceMs: number): Promise<PipelineResult<Alert[]>>;
  /** `POST /correlate {window:{start,end}}` in unix seconds. */
  correlate(window: { startMs: number; endMs: number }): Promise<PipelineResult<Cluster[]>>;
  /** `POST /rca {cluster}`: sends the cluster as the pipeline returned it. */
  rca(cluster: Cluster): Promise<PipelineResult<RcaAnswer>>;
  /** Estimates the clock offset from round trips to `/health`; undefined when it has no time. */
  estimateClockOffset(options?: { samples?: number }): Promise<ClockOffset | undefined>;
  /** Every error recorded by this client, oldest first. */
  readonly errors: readonly PipelineError[];
}

function excerptOf(body: unknown): string {
  if (body === undefined || body === null || body === '') return '';
  const text = typeof body === 'string' ? body : JSON.stringify(body);
  return text.length > EXCERPT_LENGTH ? `${text.slice(0, EXCERPT_LENGTH)}...` : text;
}

function describeFailure(error: unknown): { message: string; body: unknown } {
  if (axios.isAxiosError(error)) {
    if (error.code === 'ECONNABORTED' || error.code === 'ETIMEDOUT')
      return { message: `timed out (${error.message})`, body: undefined };
    if (error.response)
      return { message: `HTTP ${error.response.status}`, body: error.response.data };
    return {
      message: `request failed: ${error.code ?? ''} ${error.message}`.trim(),
      body: undefined,
    };
  }
  if (error instanceof z.ZodError) {
    const first = error.issues[0];
    return {
      message: `malformed response: ${first ? `${first.path.join('.') || '(root)'} ${first.message}` : error.message}`,
      body: undefined,
    };
  }
  return { message: error instanceof Error ? error.message : String(error), body: undefined };
}

type Caller = <T>(
  stage: PipelineError['stage'],
  send: () => Promise<AxiosResponse<string>>,
  parse: (body: unknown) => T,
) => Promise<PipelineResult<T>>;

/** Creates the wrapper of every call: parse, map, normalise, or record the failure in `errors`. */
function createCaller(
  errors: PipelineError[],
  now: () => number,
  mapResponse: PipelineClientOptions['mapResponse'],
): Caller {
  return async (stage, send, parse) => {
    let body: unknown;
    try {
      const response = await send();
      body = response.data;
      body = parseBody(response.data);
      const mapped = mapResponse ? mapResponse(stage, body) : body;
      return { ok: true, value: parse(mapped) };
    } catch (error) {
      const failure = describeFailure(error);
      const recorded: PipelineError = {
        stage,
        message: `${stage}: ${failure.message}`,
        excerpt: excerptOf(failure.body ?? body),
        atMs: now(),
      };
      errors.push(recorded);
      log('%s failed: %s (excerpt %s)', stage, recorded.message, recorded.excerpt);
      return { ok: false, error: recorded };
    }
  };
}

/**
 * Creates the client of the pipeline under test. Every call validates and normalises the
 * response: seconds, milliseconds or ISO times, a bare list or an object around it, and common
 * field aliases. A failing, slow or malformed response becomes a recorded `PipelineError` with
 * an excerpt of the body. It is returned as `{ ok: false }`, never thrown.
 */
export function createPipelineClient(options: PipelineClientOptions): PipelineClient {
  const baseUrl = options.baseUrl.replace(/\/+$/, '');
  const now = options.now ?? Date.now;
  const fieldMap = options.fieldMap ?? {};
  const http = axios.create({
    baseURL: baseUrl,
    timeout: options.timeoutMs ?? 5_000,
    // Bodies are parsed here so that a non-JSON body is kept for the excerpt.
    transformResponse: (data: unknown) => data,
    responseType: 'text',
    validateStatus: (status) => status >= 200 && status < 300,
  });
  const errors: PipelineError[] = [];
  const call = createCaller(errors, now, options.mapResponse);
  const rawClusters = new WeakMap<Cluster, unknown>();

  return {
    baseUrl,
    errors,
    alerts: (sinceMs) =>
      call(
        'alerts',
        () => http.get('/alerts', { params: { since: Math.floor(sinceMs / 1_000) } }),
        (body) =>
          listOf(body, ['alerts'], 'alerts').map((raw) => normalizeAlert(raw, fieldMap.alert)),
      ),
    correlate: (window) =>
      call(
        'correlate',
        () =>
          http.post('/correlate', {
            window: {
              start: Math.floor(window.startMs / 1_000),
              end: Math.ceil(window.endMs / 1_000),
            },
          }),
        (body) =>
          listOf(body, ['clusters'], 'clusters').map((raw, index) => {
            const cluster = normalizeCluster(raw, fieldMap.cluster, index);
            rawClusters.set(cluster, raw);
            return cluster;
          }),
      ),
    rca: (cluster) =>
      call(
        'rca',
        () =>
          http.post('/rca', {
            cluster: rawClusters.get(cluster) ?? {
              id: cluster.id,
              alert_ids: cluster.alertIds,
              services: cluster.services,
            },
          }),
        (body) => normalizeRca(body, fieldMap.rca),
      ),
    estimateClockOffset: (estimateOptions) =>
      estimateOffset(http, now, estimateOptions?.samples ?? 5),
  };
}

function parseBody(text: unknown): unknown {
  if (typeof text !== 'string') return text;
  try {
    return JSON.parse(text);
  } catch {
    throw new Error('malformed response: the body is not JSON');
  }
}

function listOf(body: unknown, keys: string[], what: string): unknown[] {
  const list = unwrapList(body, keys);
  if (!list)
    throw new Error(
      `malformed response: expected a list of ${what} or an object with a ${keys[0]} list`,
    );
  return list;
}

async function estimateOffset(
  http: ReturnType<typeof axios.create>,
  now: () => number,
  samples: number,
): Promise<ClockOffset | undefined> {
  let best: ClockOffset | undefined;
  for (let index = 0; index < samples; index += 1) {
    const sentAtMs = now();
    let response: AxiosResponse<string>;
    try {
      response = await http.get('/health');
    } catch (error) {
      log('clock offset sample failed: %s', describeFailure(error).message);
      continue;
    }
    const receivedAtMs = now();
    const sample = pipelineTimeOf(response);
    if (!sample) continue;
    const roundTripMs = receivedAtMs - sentAtMs;
    // As NTP does: the server read its clock halfway through the round trip.
    const offsetMs = Math.round(sample.timeMs - (sentAtMs + receivedAtMs) / 2);
    if (
      !best ||
      roundTripMs < best.roundTripMs ||
      (sample.source === 'body' && best.source === 'date-header')
    ) {
      best = { offsetMs, roundTripMs, source: sample.source, samples: index + 1 };
    }
  }
  if (best) best.samples = samples;
  log(
    'clock offset %s',
    best ? `${best.offsetMs}ms (round trip ${best.roundTripMs}ms, ${best.source})` : 'unknown',
  );
  return best;
}

function pipelineTimeOf(
  response: AxiosResponse<string>,
): { timeMs: number; source: ClockOffset['source'] } | undefined {
  try {
    const body: unknown = JSON.parse(response.data);
    if (body !== null && typeof body === 'object') {
      const fields = body as Record<string, unknown>;
      const timeMs = toUnixMs(fields.time ?? fields.now ?? fields.server_time);
      if (timeMs !== undefined) return { timeMs, source: 'body' };
    }
  } catch {
    // A health body that is not JSON carries no time; the Date header may.
  }
  const header = response.headers.date;
  if (typeof header !== 'string') return undefined;
  const parsed = Date.parse(header);
  // The Date header has whole seconds, so the true time is on average half a second later.
  return Number.isNaN(parsed) ? undefined : { timeMs: parsed + 500, source: 'date-header' };
}
