import { sendJsonRequest, type HttpExchange } from '../drivers/http-request.ts';
import { AdminRequestError } from '../drivers/toxiproxy/errors.ts';
import type { DnsRule, HttpRuleInput } from './schema.ts';

/** Timeout of one request to the fault layer's admin API, in milliseconds. */
export const FAULT_LAYER_REQUEST_TIMEOUT_MS = 3_000;

/** A failed request to the fault layer's admin API, with method, URL, status and body. */
export class FaultLayerRequestError extends AdminRequestError {
  constructor(request: HttpExchange, cause?: unknown) {
    super(
      'fault-layer-request-failed',
      {
        name: 'Fault layer',
        fixWithoutResponse:
          'Check that the fault layer runs at that URL (the embedded stack starts it).',
      },
      request,
      cause,
    );
  }
}

/** The part of a `GET /http/<route>` or `GET /dns/<name>` response that drivers read. */
export interface RuleListing {
  name: string;
  /** Listener port on 127.0.0.1. */
  port?: number;
  rules: { ruleId: string; [key: string]: unknown }[];
  counters: Record<string, number>;
}

/** A client of a fault layer's admin API, with a timeout on every request. */
export class FaultLayerClient {
  readonly adminUrl: string;
  private readonly timeoutMs: number;
  private readonly signal: AbortSignal | undefined;

  constructor(adminUrl: string, options: { timeoutMs?: number; signal?: AbortSignal } = {}) {
    this.adminUrl = adminUrl.replace(/\/+$/, '');
    this.timeoutMs = options.timeoutMs ?? FAULT_LAYER_REQUEST_TIMEOUT_MS;
    this.signal = options.signal;
  }

  putHttpRule(route: string, rule: HttpRuleInput): Promise<RuleListing> {
    return this.request('PUT', `/http/${encodeURIComponent(route)}`, rule);
  }

  getHttpRoute(route: string): Promise<RuleListing> {
    return this.request('GET', `/http/${encodeURIComponent(route)}`);
  }

  /** Removes one rule (idempotent); a route the fault layer does not know counts as removed. */
  deleteHttpRule(route: string, ruleId: string): Promise<void> {
    return this.deleteRule(`/http/${encodeURIComponent(route)}`, ruleId);
  }

  putDnsRule(name: string, rule: DnsRuleInput): Promise<RuleListing> {
    return this.request('PUT', `/dns/${encodeURIComponent(name)}`, rule);
  }

  getDnsForwarder(name: string): Promise<RuleListing> {
    return this.request('GET', `/dns/${encodeURIComponent(name)}`);
  }

  /** Removes one rule (idempotent); a forwarder the fault layer does not know counts as removed. */
  deleteDnsRule(name: string, ruleId: string): Promise<void> {
    return this.deleteRule(`/dns/${encodeURIComponent(name)}`, ruleId);
  }

  private async deleteRule(path: string, ruleId: string): Promise<void> {
    try {
      await this.request('DELETE', `${path}?ruleId=${encodeURIComponent(ruleId)}`);
    } catch (error) {
      if (error instanceof FaultLayerRequestError && error.status === 404) return;
      throw error;
    }
  }

  private async request<T>(method: string, path: string, body?: unknown): Promise<T> {
    const url = `${this.adminUrl}${path}`;
    const response = await sendJsonRequest(
      { method, url, body },
      { timeoutMs: this.timeoutMs, signal: this.signal },
      (exchange, cause) => new FaultLayerRequestError(exchange, cause),
    );
    const text = response.text;
    try {
      return JSON.parse(text) as T;
    } catch (error) {
      throw new FaultLayerRequestError(
        { method, url, status: response.status, responseBody: text },
        error,
      );
    }
  }
}

/** The body of `PUT /dns/<name>` as a caller writes it. */
export type DnsRuleInput = Omit<DnsRule, 'names'> & { names?: string[] };
