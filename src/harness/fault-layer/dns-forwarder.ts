import { createSocket, type RemoteInfo, type Socket } from 'node:dgram';
import createDebug from 'debug';
import dnsPacket from 'dns-packet';
import type { DnsRule } from './schema.ts';

const log = createDebug('chaos:fault-layer');

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
 * and delays the answer by the largest `delayMs` of its rules.
 */
export class DnsForwarder {
  readonly name: string;
  readonly upstream: { host: string; port: number };
  readonly counters: DnsForwarderCounters = { queries: 0, delayed: 0, failed: 0 };
  private readonly rules = new Map<string, DnsRule>();
  private readonly socket: Socket = createSocket('udp4');
  private readonly pending = new Set<Socket>();
  private readonly timers = new Set<NodeJS.Timeout>();

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
    return this.socket.address().port;
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

  /** The delay currently applied to every answer, in milliseconds. */
  get delayMs(): number {
    let max = 0;
    for (const rule of this.rules.values()) max = Math.max(max, rule.delayMs);
    return max;
  }

  describe() {
    const rules = [...this.rules.values()];
    return {
      name: this.name,
      upstream: this.upstream,
      delayMs: this.delayMs,
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
    try {
      dnsPacket.decode(query);
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
      this.reply(answer, client);
    });
    upstream.send(query, this.upstream.port, this.upstream.host);
  }

  private reply(answer: Buffer, client: RemoteInfo): void {
    const delayMs = this.delayMs;
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
