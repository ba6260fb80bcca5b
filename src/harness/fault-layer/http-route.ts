import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createLogger } from '../log.ts';
import httpProxy from 'http-proxy';
import type { HttpRule } from './schema.ts';
import { createPrng } from './prng.ts';

const log = createLogger('fault-layer');

/** Counters of one HTTP route since it started. */
export interface HttpRouteCounters {
  requests: number;
  /** Requests a rule acted on (delayed, given its status, or both). */
  injected: number;
  /** Requests whose connection a rule destroyed. */
  aborted: number;
  /** Requests the target could not serve (502 from the route). */
  proxyErrors: number;
}

interface ActiveRule {
  rule: HttpRule;
  random: () => number;
  injected: number;
  aborted: number;
}

/** The rules' outcome for one request, decided before it is forwarded. */
interface Decision {
  delayMs: number;
  status: number | undefined;
  ruleId: string | undefined;
  abort: boolean;
}

/**
 * One HTTP reverse-proxy listener on 127.0.0.1 for one edge, with the fault rules set on it.
 * Rules are keyed by `ruleId` so two experiments on the same edge keep their own rule.
 */
export class HttpRoute {
  readonly name: string;
  readonly targetUrl: string;
  readonly counters: HttpRouteCounters = { requests: 0, injected: 0, aborted: 0, proxyErrors: 0 };
  private readonly rules = new Map<string, ActiveRule>();
  private readonly proxy: httpProxy;
  private readonly server: Server;
  private port: number | undefined;

  constructor(name: string, targetUrl: string) {
    this.name = name;
    this.targetUrl = targetUrl;
    // Without an agent http-proxy opens a new connection to the target per request, like the
    // services do, so a restarted target never meets a stale pooled socket.
    this.proxy = httpProxy.createProxyServer({ target: targetUrl, proxyTimeout: 60_000 });
    this.proxy.on('error', (error, _request, response) => this.onProxyError(error, response));
    this.server = createServer((request, response) => this.handle(request, response));
  }

  /** Listens on 127.0.0.1 and returns the port. */
  async listen(port = 0): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.server.once('error', reject);
      this.server.listen(port, '127.0.0.1', () => {
        this.server.off('error', reject);
        resolve();
      });
    });
    this.port = (this.server.address() as AddressInfo).port;
    return this.port;
  }

  /** Adds the rule, or replaces the rule with the same `ruleId`; its generator restarts. */
  setRule(rule: HttpRule): void {
    this.rules.set(rule.ruleId, { rule, random: createPrng(rule.seed), injected: 0, aborted: 0 });
    log('route %s: rule %s set %o', this.name, rule.ruleId, rule);
  }

  /** Removes one rule, or every rule when `ruleId` is undefined. Returns how many it removed. */
  deleteRule(ruleId?: string): number {
    if (ruleId === undefined) {
      const count = this.rules.size;
      this.rules.clear();
      return count;
    }
    return this.rules.delete(ruleId) ? 1 : 0;
  }

  /** Returns the route's rules with per-rule counters, and the route's counters. */
  describe() {
    const rules = [...this.rules.values()].map(({ rule, injected, aborted }) => ({
      ...rule,
      injected,
      aborted,
    }));
    return {
      name: this.name,
      port: this.port,
      targetUrl: this.targetUrl,
      rule: rules.at(-1) ?? null,
      rules,
      counters: { ...this.counters },
    };
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
    this.proxy.close();
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    this.counters.requests += 1;
    const decision = this.decide();
    if (decision.delayMs > 0) {
      const timer = setTimeout(() => this.finish(request, response, decision), decision.delayMs);
      // The response closes when the caller goes away, and after a normal end, when the timer
      // has already fired.
      response.once('close', () => clearTimeout(timer));
      return;
    }
    this.finish(request, response, decision);
  }

  /** Draws two numbers per rule and request, whatever the outcome, so a seed replays exactly. */
  private decide(): Decision {
    const decision: Decision = { delayMs: 0, status: undefined, ruleId: undefined, abort: false };
    for (const active of this.rules.values()) {
      const acts = active.random() < active.rule.probability;
      const aborts = active.random() < active.rule.abortProbability;
      if (acts) {
        active.injected += 1;
        decision.delayMs += active.rule.delayMs;
        if (decision.status === undefined && active.rule.status !== undefined) {
          decision.status = active.rule.status;
          decision.ruleId = active.rule.ruleId;
        }
      }
      if (aborts) {
        active.aborted += 1;
        decision.abort = true;
      }
    }
    if (decision.delayMs > 0 || decision.status !== undefined) this.counters.injected += 1;
    if (decision.abort) this.counters.aborted += 1;
    return decision;
  }

  private finish(request: IncomingMessage, response: ServerResponse, decision: Decision): void {
    if (decision.abort) {
      request.socket.destroy();
      return;
    }
    if (decision.status !== undefined) {
      const body = JSON.stringify({ error: 'fault injected', ruleId: decision.ruleId });
      response.writeHead(decision.status, {
        'content-type': 'application/json',
        'x-chaos-fault': decision.ruleId ?? '',
        connection: 'close',
      });
      response.end(body);
      return;
    }
    this.proxy.web(request, response);
  }

  private onProxyError(error: Error, response: ServerResponse | unknown): void {
    this.counters.proxyErrors += 1;
    log('route %s: proxy to %s failed: %s', this.name, this.targetUrl, error.message);
    if (!isServerResponse(response)) return;
    if (response.headersSent) {
      response.destroy();
      return;
    }
    response.writeHead(502, { 'content-type': 'application/json', connection: 'close' });
    response.end(JSON.stringify({ error: `fault layer could not reach ${this.targetUrl}` }));
  }
}

function isServerResponse(value: unknown): value is ServerResponse {
  return typeof value === 'object' && value !== null && 'writeHead' in value;
}
