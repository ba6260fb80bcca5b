import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createLogger } from '../log.ts';
import type { z } from 'zod';
import type { DnsForwarder } from './dns-forwarder.ts';
import type { HttpRoute } from './http-route.ts';
import { describeIssues, dnsRuleSchema, httpRuleSchema } from './schema.ts';

const log = createLogger('fault-layer');

const MAX_BODY_BYTES = 64 * 1024;

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/**
 * Creates the admin HTTP server of a fault layer:
 * `PUT|GET|DELETE /http/<route>`, `PUT|GET|DELETE /dns/<name>`, `GET /state`, `GET /health`.
 * `DELETE` is idempotent and takes `?ruleId=` to remove one rule instead of all.
 */
export function createAdminServer(
  routes: Map<string, HttpRoute>,
  forwarders: Map<string, DnsForwarder>,
): Server {
  return createServer((request, response) => {
    handle(request, routes, forwarders)
      .then((body) => send(response, 200, body))
      .catch((error: unknown) => {
        const status = error instanceof HttpError ? error.status : 500;
        if (status === 500) log('admin %s %s failed: %o', request.method, request.url, error);
        send(response, status, { error: error instanceof Error ? error.message : String(error) });
      });
  });
}

async function handle(
  request: IncomingMessage,
  routes: Map<string, HttpRoute>,
  forwarders: Map<string, DnsForwarder>,
): Promise<unknown> {
  const url = new URL(request.url ?? '/', 'http://fault-layer');
  const [kind, name, ...rest] = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
  const method = request.method ?? 'GET';
  if (kind === 'health' && !name && method === 'GET') return { ok: true };
  if (kind === 'state' && !name && method === 'GET') return describeState(routes, forwarders);
  if ((kind === 'http' || kind === 'dns') && name && rest.length === 0) {
    const table: Map<string, HttpRoute | DnsForwarder> = kind === 'http' ? routes : forwarders;
    const target = table.get(name);
    if (!target) {
      const known = [...table.keys()].join(', ') || '(none)';
      throw new HttpError(404, `Unknown ${kind} name "${name}". Known names: ${known}.`);
    }
    return handleRule(request, method, url, target);
  }
  throw new HttpError(404, `No admin endpoint ${method} ${url.pathname}.`);
}

async function handleRule(
  request: IncomingMessage,
  method: string,
  url: URL,
  target: HttpRoute | DnsForwarder,
): Promise<unknown> {
  if (method === 'GET') return target.describe();
  if (method === 'DELETE') {
    const ruleId = url.searchParams.get('ruleId') ?? undefined;
    const removed = target.deleteRule(ruleId);
    log('%s: removed %d rule(s) (ruleId %s)', target.name, removed, ruleId ?? 'all');
    return { removed, ...target.describe() };
  }
  if (method === 'PUT') {
    const body = await readJson(request);
    if ('targetUrl' in target) target.setRule(parse(httpRuleSchema, body));
    else target.setRule(parse(dnsRuleSchema, body));
    return target.describe();
  }
  throw new HttpError(
    405,
    `Method ${method} is not allowed on ${url.pathname}; use GET, PUT or DELETE.`,
  );
}

function parse<Schema extends z.ZodType>(schema: Schema, body: unknown): z.output<Schema> {
  const result = schema.safeParse(body);
  if (!result.success) {
    throw new HttpError(400, `Invalid rule: ${describeIssues(result.error, body)}.`);
  }
  return result.data;
}

function describeState(routes: Map<string, HttpRoute>, forwarders: Map<string, DnsForwarder>) {
  return {
    httpRoutes: Object.fromEntries([...routes].map(([name, route]) => [name, route.describe()])),
    dnsForwarders: Object.fromEntries(
      [...forwarders].map(([name, forwarder]) => [name, forwarder.describe()]),
    ),
  };
}

async function readJson(request: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of request) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES)
      throw new HttpError(413, `Body larger than ${MAX_BODY_BYTES} bytes.`);
    chunks.push(chunk as Buffer);
  }
  const text = Buffer.concat(chunks).toString('utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new HttpError(400, `Body is not valid JSON (${String(error)}): ${text.slice(0, 200)}`);
  }
}

function send(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}
