import { Toxic, Toxiproxy, type Proxy } from 'toxiproxy-node-client';
import { HttpClient } from 'toxiproxy-node-client/dist/HttpClient.js';
import { z } from 'zod';
import { sendJsonRequest, type HttpExchange } from '../http-request.ts';
import { AdminRequestError } from './errors.ts';

/** Timeout of one request to the Toxiproxy API, in milliseconds. */
export const TOXIPROXY_REQUEST_TIMEOUT_MS = 3_000;

/** A failed request to the Toxiproxy API, with everything needed to tell why. */
export class ToxiproxyRequestError extends AdminRequestError {
  constructor(request: HttpExchange, cause?: unknown) {
    super(
      'toxiproxy-request-failed',
      {
        name: 'Toxiproxy',
        driver: 'toxiproxy',
        fixWithoutResponse:
          'Check that toxiproxy-server runs at that URL (startToxiproxyServer starts one).',
      },
      request,
      cause,
    );
  }
}

/**
 * The transport of toxiproxy-node-client, replaced so that every request has a timeout and
 * every failure is a {@link ToxiproxyRequestError} with method, URL, status and body.
 */
class TimedHttpClient extends HttpClient {
  constructor(
    private readonly timeoutMs: number,
    private readonly signal?: AbortSignal,
  ) {
    super();
  }

  override get<T>(url: string) {
    return this.send<T>('GET', url);
  }

  override post<T>(url: string, body?: unknown) {
    return this.send<T>('POST', url, body);
  }

  override async delete(url: string): Promise<void> {
    await this.send('DELETE', url);
  }

  override async getText(url: string): Promise<string> {
    return (await this.fetchText('GET', url)).text;
  }

  private async send<T>(method: string, url: string, body?: unknown): Promise<{ data: T }> {
    const { text } = await this.fetchText(method, url, body);
    if (text.length === 0) return { data: undefined as T };
    try {
      return { data: JSON.parse(text) as T };
    } catch (error) {
      throw new ToxiproxyRequestError({ method, url, status: 200, responseBody: text }, error);
    }
  }

  private fetchText(method: string, url: string, body?: unknown) {
    return sendJsonRequest(
      { method, url, body },
      { timeoutMs: this.timeoutMs, signal: this.signal },
      (exchange, cause) => new ToxiproxyRequestError(exchange, cause),
    );
  }
}

const toxicSchema = z.object({
  name: z.string(),
  type: z.string(),
  stream: z.enum(['upstream', 'downstream']),
  toxicity: z.number(),
  attributes: z.record(z.string(), z.unknown()),
});
/** A toxic as the Toxiproxy API lists it. */
export type ToxicState = z.infer<typeof toxicSchema>;

const proxySchema = z.object({
  name: z.string(),
  listen: z.string(),
  upstream: z.string(),
  enabled: z.boolean(),
  toxics: z.array(toxicSchema).default([]),
});
/** A proxy as the Toxiproxy API lists it. */
export type ProxyState = z.infer<typeof proxySchema>;

/** A toxic to create: Toxiproxy's own field names and units. */
export interface ToxicSpec {
  name: string;
  type: 'latency' | 'bandwidth' | 'timeout' | 'reset_peer';
  stream: 'upstream' | 'downstream';
  toxicity: number;
  attributes: Record<string, number>;
}

/**
 * A client of one Toxiproxy server built on toxiproxy-node-client, with request timeouts and
 * errors that carry the request. Methods that remove things succeed when the thing is gone.
 */
export class ToxiproxyApi {
  readonly url: string;
  private readonly client: Toxiproxy;
  private readonly http: TimedHttpClient;

  constructor(url: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}) {
    this.url = url.replace(/\/+$/, '');
    this.client = new Toxiproxy(this.url);
    this.http = new TimedHttpClient(
      options.timeoutMs ?? TOXIPROXY_REQUEST_TIMEOUT_MS,
      options.signal,
    );
    this.client.api = this.http;
  }

  /** Returns the server's version text. */
  version(): Promise<string> {
    return this.client.getVersion();
  }

  /** Returns the proxy and its toxics, or undefined when the server has no such proxy. */
  async getProxy(name: string): Promise<ProxyState | undefined> {
    try {
      const { data } = await this.http.get<unknown>(
        `${this.url}/proxies/${encodeURIComponent(name)}`,
      );
      return proxySchema.parse(data);
    } catch (error) {
      if (error instanceof ToxiproxyRequestError && error.status === 404) return undefined;
      throw error;
    }
  }

  /** Creates the toxic; when a toxic of that name exists (a crashed earlier run), updates it. */
  async addToxic(proxyName: string, spec: ToxicSpec): Promise<void> {
    const proxy = await this.proxyHandle(proxyName);
    try {
      await proxy.addToxic({ ...spec });
    } catch (error) {
      if (!(error instanceof ToxiproxyRequestError && error.status === 409)) throw error;
      await new Toxic(this.http, proxy.getPath(), { ...spec }).update({ ...spec });
    }
  }

  /** Removes the toxic; returns false when it was not there (or the proxy is gone). */
  async removeToxic(proxyName: string, toxicName: string): Promise<boolean> {
    const path = `${this.url}/proxies/${encodeURIComponent(proxyName)}`;
    try {
      await this.http.delete(`${path}/toxics/${encodeURIComponent(toxicName)}`);
      return true;
    } catch (error) {
      if (error instanceof ToxiproxyRequestError && error.status === 404) return false;
      throw error;
    }
  }

  /** Enables or disables the proxy; a disabled proxy refuses connections. */
  async setEnabled(proxyName: string, enabled: boolean): Promise<void> {
    const proxy = await this.proxyHandle(proxyName);
    await proxy.update({ enabled, listen: proxy.listen, upstream: proxy.upstream });
  }

  private async proxyHandle(name: string): Promise<Proxy> {
    return this.client.get(encodeURIComponent(name));
  }
}
