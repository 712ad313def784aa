// /metrics in the Prometheus text format (prom-client, a registry of our own), protected like
// the admin API (an API key as a bearer token, or Basic; the same source rules).
//
// Read at scrape time from what already counts (the kernel's counters, the stored bans and
// registrations, the balances), or counted as it happens (bans added, SIP messages, calls
// refused). Label values come from small fixed sets only — a drop reason, a guard rule, a SIP
// method, a response class — never an address or an account name, so a scan of random
// addresses cannot grow the series without bound.
import type { FastifyInstance } from 'fastify';
import { Counter, collectDefaultMetrics, Gauge, Registry } from 'prom-client';
import { CONFIG_KEYS, USER_FIELDS } from '../config/schema.ts';
import type { BanService } from '../control/bans.ts';
import { RULES as GUARD_RULES } from '../control/guard/rules.ts';
import { type DataplaneStats, DROP_REASONS } from '../dataplane/types.ts';
import { droppedLogLines } from '../log.ts';
import type { BanRecord } from '../store/records.ts';
import type { Store } from '../store/store.ts';
import type { AccessControl } from './auth/access.ts';

/** SIP methods counted by name; anything else is "other" (a peer chooses the method). */
const METHODS = new Set([
  'REGISTER',
  'INVITE',
  'ACK',
  'BYE',
  'CANCEL',
  'OPTIONS',
  'MESSAGE',
  'INFO',
  'NOTIFY',
  'SUBSCRIBE',
  'REFER',
  'UPDATE',
  'PRACK',
  'PUBLISH',
]);
/**
 * A rule label is the name of a config key, a per-user field or a guard rule: a fixed set in
 * code. Anything else (whatever a caller passed) is "other".
 */
const RULES = new Set([...CONFIG_KEYS, ...USER_FIELDS].map((s) => s.name));
for (const r of GUARD_RULES) RULES.add(r.rule);
const known = (rule: unknown) => (typeof rule === 'string' && RULES.has(rule) ? rule : 'other');

export interface MetricsSources {
  store: Store;
  bans: BanService;
  dataplane(): Promise<DataplaneStats>;
  /** Calls in progress, when the dialogs are wired. */
  callsActive?: () => number;
  /** UDP datagrams dropped inside the process, by reason (sip/transport/udp-thread.ts). */
  udpDropped?: () => {
    receivedQueueFull: number;
    receivedOverShare: number;
    sendQueueFull: number;
  };
}

export class Metrics {
  readonly registry = new Registry();
  readonly #bansAdded: Counter<'origin' | 'rule'>;
  /**
   * SIP messages counted as they cross the wire: plain numbers, handed to prom-client at
   * scrape time. prom-client's inc() with labels hashes the label object on every call, and
   * this runs for every message (14 per proxied call).
   */
  readonly #sipRequestCounts = [new Map<string, number>(), new Map<string, number>()];
  readonly #sipResponseCounts = [new Array<number>(6).fill(0), new Array<number>(6).fill(0)];
  readonly #callsRefused: Counter<'rule'>;

  constructor(sources: MetricsSources) {
    const registry = this.registry;
    collectDefaultMetrics({
      register: registry,
      prefix: 'tollgate_',
      eventLoopMonitoringPrecision: 20,
    });
    const stats = snapshotOnce(sources.dataplane);

    new Counter({
      name: 'tollgate_dropped_packets_total',
      help: 'Packets the kernel dropped, per reason (XDP and nftables), since the dataplane started',
      labelNames: ['reason'],
      registers: [registry],
      async collect() {
        const s = await stats();
        this.reset();
        for (const r of DROP_REASONS) this.inc({ reason: r }, s.drops[r] ?? 0);
      },
    });
    new Counter({
      name: 'tollgate_dropped_bytes_total',
      help: 'Bytes of the packets XDP dropped, per reason (absent where only nftables counts)',
      labelNames: ['reason'],
      registers: [registry],
      async collect() {
        const s = await stats();
        this.reset();
        if (s.dropBytes) for (const r of DROP_REASONS) this.inc({ reason: r }, s.dropBytes[r] ?? 0);
      },
    });
    new Counter({
      name: 'tollgate_passed_packets_total',
      help: 'Packets the kernel let through to the host',
      registers: [registry],
      async collect() {
        const s = await stats();
        this.reset();
        this.inc(s.passed);
      },
    });
    const bansByRule = groupOnChange(sources.bans);
    new Gauge({
      name: 'tollgate_bans_active',
      help: 'Bans in force, per origin and the guard rule that made them ("manual" for operators)',
      labelNames: ['origin', 'rule'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [key, n] of bansByRule()) {
          const [origin, rule] = key.split('\u0000') as [string, string];
          this.set({ origin, rule }, n);
        }
      },
    });
    this.#bansAdded = new Counter({
      name: 'tollgate_bans_added_total',
      help: 'Bans added since start, per origin and rule',
      labelNames: ['origin', 'rule'],
      registers: [registry],
    });
    sources.bans.onBanned((record) => {
      this.#bansAdded.inc({ origin: record.origin, rule: ruleOf(record) });
    });
    new Gauge({
      name: 'tollgate_registrations',
      help: 'Registration bindings in force',
      registers: [registry],
      collect() {
        const now = Date.now();
        let n = 0;
        for (const { value } of sources.store.tables.registrations.getRange())
          if (value.expiresAt > now) n++;
        this.set(n);
      },
    });
    new Gauge({
      name: 'tollgate_users',
      help: 'SIP accounts',
      registers: [registry],
      collect() {
        this.set(sources.store.tables.users.getCount());
      },
    });
    new Gauge({
      name: 'tollgate_calls_active',
      help: 'Calls in progress through the proxy',
      registers: [registry],
      collect() {
        this.set(sources.callsActive?.() ?? 0);
      },
    });
    this.#callsRefused = new Counter({
      name: 'tollgate_calls_refused_total',
      help: 'Calls refused, per rule (guard call limits, billing limits)',
      labelNames: ['rule'],
      registers: [registry],
    });
    new Counter({
      name: 'tollgate_udp_datagrams_dropped_total',
      help:
        'SIP UDP datagrams dropped between the UDP thread and the main thread: received while ' +
        'the queue was full (queue_full_in), from an address over its share of a crowded queue ' +
        '(over_share), or to send while the queue was full (queue_full_out)',
      labelNames: ['reason'],
      registers: [registry],
      collect() {
        const d = sources.udpDropped?.();
        this.reset();
        if (d === undefined) return;
        this.inc({ reason: 'queue_full_in' }, d.receivedQueueFull);
        this.inc({ reason: 'over_share' }, d.receivedOverShare);
        this.inc({ reason: 'queue_full_out' }, d.sendQueueFull);
      },
    });
    new Counter({
      name: 'tollgate_log_lines_dropped_total',
      help: 'Log lines dropped because the reader of the log (journald) fell 16 MB behind',
      registers: [registry],
      collect() {
        this.reset();
        this.inc(droppedLogLines());
      },
    });
    new Gauge({
      name: 'tollgate_spend_today_micros',
      help: 'Money spent today (UTC) by every account, in micro-units of the currency',
      registers: [registry],
      collect() {
        const today = Math.floor(Date.now() / 86_400_000);
        let total = 0;
        for (const { value } of sources.store.tables.balances.getRange())
          if (value.day === today) total += value.spentDayMicros;
        this.set(total);
      },
    });
    const requestCounts = this.#sipRequestCounts;
    new Counter({
      name: 'tollgate_sip_requests_total',
      help: 'SIP requests received (in) and sent (out), per method',
      labelNames: ['direction', 'method'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [d, direction] of ['in', 'out'].entries())
          for (const [method, n] of requestCounts[d]!) this.inc({ direction, method }, n);
      },
    });
    const responseCounts = this.#sipResponseCounts;
    new Counter({
      name: 'tollgate_sip_responses_total',
      help: 'SIP responses received (in) and sent (out), per class (1xx..6xx)',
      labelNames: ['direction', 'class'],
      registers: [registry],
      collect() {
        this.reset();
        for (const [d, direction] of ['in', 'out'].entries())
          for (let c = 0; c < 6; c++) {
            const n = responseCounts[d]![c]!;
            if (n > 0) this.inc({ direction, class: `${c + 1}xx` }, n);
          }
      },
    });
  }

  /** A SIP message crossed the wire (SipServiceDeps.observeMessage). */
  sipMessage(dir: 'in' | 'out', method: string | undefined, status: number | undefined): void {
    if (method !== undefined) {
      const counts = this.#sipRequestCounts[dir === 'in' ? 0 : 1]!;
      const key = METHODS.has(method) ? method : 'other';
      counts.set(key, (counts.get(key) ?? 0) + 1);
    } else if (status !== undefined && status >= 100 && status < 700)
      this.#sipResponseCounts[dir === 'in' ? 0 : 1]![Math.floor(status / 100) - 1]!++;
  }

  /** A call was refused by `rule` (a config key or per-user field name). */
  callRefused(rule: string | undefined): void {
    this.#callsRefused.inc({ rule: known(rule) });
  }

  /** GET /metrics, authenticated as the admin API is. */
  route(app: FastifyInstance, access: AccessControl): void {
    app.get(
      '/metrics',
      {
        config: { access: 'admin' },
        onRequest: (req, _reply, done) => {
          try {
            access.authenticate(req);
            done();
          } catch (err) {
            done(err as Error);
          }
        },
        schema: {
          tags: ['system'],
          summary: 'Prometheus metrics (text format); authenticate as for the admin API',
          produces: ['text/plain'],
          response: { 200: { type: 'string' } },
        },
      },
      async (_req, reply) => {
        reply.type(this.registry.contentType);
        return this.registry.metrics();
      },
    );
  }
}

function ruleOf(record: BanRecord): string {
  if (record.origin === 'manual') return 'manual';
  return known(record.evidence?.rule);
}

/** Bans in force counted per origin and rule, recounted only when the bans changed. */
function groupOnChange(bans: BanService): () => Map<string, number> {
  let seen = -1;
  let groups = new Map<string, number>();
  let nextExpiry = Number.POSITIVE_INFINITY;
  return () => {
    const now = Date.now();
    if (seen === bans.changes && now < nextExpiry) return groups;
    seen = bans.changes;
    groups = new Map();
    nextExpiry = Number.POSITIVE_INFINITY;
    for (const b of bans.list()) {
      const key = `${b.origin}\u0000${ruleOf(b)}`;
      groups.set(key, (groups.get(key) ?? 0) + 1);
      if (b.expiresAt !== 0 && b.expiresAt < nextExpiry) nextExpiry = b.expiresAt;
    }
    return groups;
  };
}

/** One kernel read per scrape, shared by the metrics that need it. */
function snapshotOnce(read: () => Promise<DataplaneStats>): () => Promise<DataplaneStats> {
  let pending: Promise<DataplaneStats> | undefined;
  return () => {
    if (!pending) {
      pending = read();
      // Forgotten once this scrape's collectors have all had it.
      pending.finally(() => setTimeout(() => (pending = undefined), 50)).catch(() => undefined);
    }
    return pending;
  };
}
