import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import { createLogger } from '../log.ts';
import dnsPacket from 'dns-packet';
import type { DnsRule } from './schema.ts';

const log = createLogger('fault-layer');

/** How long the forwarder waits for the upstream server before it drops a query. */
const UPSTREAM_TIMEOUT_MS = 5_000;

/** Counters of one DNS forwarder since it started. */
export interface DnsForwarderCounters {
  queries: number;
  /** Answers that were held back by a rule. */
  delayed: number;
  /** Queries the upstream server did not answer within 5 s, or malformed queries. */
  failed: number;
}

/**
 * A UDP DNS forwarder on 127.0.0.1 for one service: it relays each query to the upstream server
 * and delays the answer by the largest `delayMs` of the rules that match the queried name.
 */
export class DnsForwarder {
  readonly name: string;
  readonly upstream: { host: string; port: number };
  readonly counters: DnsForwarderCounters = { queries: 0, delayed: 0, failed: 0 };
  private readonly rules = new Map<string, DnsRule>();
  private readonly socket: Socket = createSocket('udp4');
  private readonly pending = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();
  private port: number | undefined;

  constructor(name: string, upstream: { host: string; port: number }) {
    this.name = name;
    this.upstream = upstream;
    this.socket.on('message', (message, client) => this.forward(message, client));
    this.socket.on('error', (error) => log('dns %s: socket error: %s', name, error.message));
  }

  /** Binds the UDP socket on 127.0.0.1 and returns the port. */
  async listen(port = 0): Promise<number> {
    await new Promise<void>((resolve, reject) => {
      this.socket.once('error', reject);
      this.socket.bind(port, '127.0.0.1', () => {
        this.socket.off('error', reject);
        resolve();
      });
    });
    this.port = this.socket.address().port;
    return this.port;
  }

  setRule(rule: DnsRule): void {
    this.rules.set(rule.ruleId, rule);
    log('dns %s: rule %s set, delay %d ms', this.name, rule.ruleId, rule.delayMs);
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

  /** Returns the delay for a query of these names: the largest of the matching rules, in ms. */
  delayFor(names: string[]): number {
    let max = 0;
    for (const rule of this.rules.values()) {
      if (rule.names && !names.some((name) => matchesAny(name, rule.names ?? []))) continue;
      max = Math.max(max, rule.delayMs);
    }
    return max;
  }

  describe() {
    const rules = [...this.rules.values()];
    return {
      name: this.name,
      port: this.port,
      upstream: this.upstream,
      rule: rules.at(-1) ?? null,
      rules,
      counters: { ...this.counters },
    };
  }

  async close(): Promise<void> {
    for (const timer of this.timers) clearTimeout(timer);
    for (const socket of this.pending) socket.close();
    this.pending.clear();
    await new Promise<void>((resolve) => this.socket.close(() => resolve()));
  }

  private forward(query: Buffer, client: RemoteInfo): void {
    this.counters.queries += 1;
    let names: string[];
    try {
      names = (dnsPacket.decode(query).questions ?? []).map((question) => question.name);
    } catch (error) {
      this.counters.failed += 1;
      log('dns %s: dropped a malformed query from %s: %s', this.name, client.port, String(error));
      return;
    }
    // One socket per query: the upstream answer comes back on it, so no id mapping is needed.
    const upstream = createSocket('udp4');
    this.pending.add(upstream);
    const done = () => {
      clearTimeout(timeout);
      this.pending.delete(upstream);
      upstream.close();
    };
    const timeout = setTimeout(() => {
      this.counters.failed += 1;
      log('dns %s: upstream %o timed out', this.name, this.upstream);
      done();
    }, UPSTREAM_TIMEOUT_MS);
    upstream.on('error', (error) => {
      this.counters.failed += 1;
      log('dns %s: upstream %o failed: %s', this.name, this.upstream, error.message);
      done();
    });
    upstream.once('message', (answer) => {
      done();
      this.reply(answer, client, names);
    });
    upstream.send(query, this.upstream.port, this.upstream.host);
  }

  private reply(answer: Buffer, client: RemoteInfo, names: string[]): void {
    const delayMs = this.delayFor(names);
    const send = () => this.socket.send(answer, client.port, client.address);
    if (delayMs <= 0) {
      send();
      return;
    }
    this.counters.delayed += 1;
    const timer = setTimeout(() => {
      this.timers.delete(timer);
      send();
    }, delayMs);
    this.timers.add(timer);
  }
}

function normalizeName(name: string): string {
  return name.toLowerCase().replace(/\.$/, '');
}

/**
 * Tells whether a queried name is one of `names`, or one of them with a search domain appended
 * (`payment-svc.svc.local` for `payment-svc`).
 */
function matchesAny(queried: string, names: string[]): boolean {
  const candidate = normalizeName(queried);
  return names.some((name) => {
    const wanted = normalizeName(name);
    return candidate === wanted || candidate.startsWith(`${wanted}.`);
  });
}
