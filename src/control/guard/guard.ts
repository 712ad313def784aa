// The guard: the policy engine the SIP layer feeds with what it sees, one event per fact,
// and that answers, per event, pass / drop / ban / close-session. Bans go to an injected
// `ban(ip, ttlSeconds, reason, evidence)` (BanService.ban in the daemon), once per ban.
//
// What the SIP layer sends (one 'message' per received request or response, then the
// outcome events of that message):
//
//   message         every parsed message        → maxsubsmsgcount / maxsubsmsgperiod;
//                                                  an OPTIONS naming a user is a scan sign
//   wrong           unparsable or meaningless   → maxwrongmsgallowed / maxwrongmsgperiod
//   auth-challenge  a 401/407 was sent          → maxsubsipauthrequest, fastauthsubswrongusermsg,
//                                                  scan sign (distinct user)
//   auth-fail       credentials given, wrong    → maxfailedauthenabledipport (IP:port),
//                                                  maxfailedauthenabledip, maxwrongauthfromip,
//                                                  maxsubsipauthrequest, fastauth…, scan sign
//   unauthorized    refused: unknown user, not  → maxwrongauthfromip, fastauth…, scan sign
//                   allowed, no credentials
//   auth-ok         credentials accepted        → resets "subsequent auth requests" and scan
//                                                  signs of the address; trustauthip
//   call-start      a call is being set up      → maxcallperip / maxcallperperiod /
//                                                  maxcallperuserid, maxdurationperip, maxcostperip
//   call-end        a call ended                → its duration counts for maxdurationperip
//   connection-*    a TCP/TLS connection refused → maxconnlimithits / maxconnlimitperiod
//                   at a cap, evicted, or closed
//                   by a deadline (slowloris)
//
// Every event may carry a User-Agent (blockua bans, allowua drops) and a Call-ID
// (session-level limits, sessions.ts). Windows are per key and fixed (counters.ts); every
// threshold trips when the count reaches it. The "auth" windows are maxsubfailauthperiod;
// blockscanning_treshold has no period in the reference and uses maxsubfailauthperiod too.
//
// IP:port bans (maxfailedauthenabledipport): the reference bans the IP:port first so that a
// second device behind the same NAT address keeps working, and the whole IP only at
// maxfailedauthenabledip. The kernel bans whole addresses, so an IP:port ban is enforced
// here, in userspace: allow()/observe() drop events from that ip:port for the ban's life.
// It is reported through the optional portBan callback (log, UI), not through ban().
//
// Modes: enablefirewall 0 = nothing is counted or dropped (call limits still apply, they are
// account limits); 1 = static rules only, the guard detects and logs but never bans;
// ≥ 2 = bans. autoban 0 = detect and log only, never ban (the stress-test profile; a blockua
// scanner's messages are still refused, logged once per address);
// autoban 2 additionally bans an address that exceeds a per-IP call limit.
// Trusted sources (trust.ts) are never banned: their counters are not even kept.
//
// Hot path: a pass reads the clock once, hashes the address once for all its tables, and
// allocates only copies of what a table keeps (a new session's Call-ID, the sample of a
// window that opens, a new scan pair's key: detach.ts); counters and sessions are typed
// arrays, the answer a frozen PASS, the UA list one regex whose last answer is remembered.
// Memory is bounded: every table has a fixed capacity (counters.ts explains the eviction).
// The guard keeps nothing of an event past observe(), so a caller may refill one event
// object for every message.
import { performance } from 'node:perf_hooks';
import type { Logger } from '../../log.ts';
import {
  derivedAuthRequestLimit,
  FAST_AUTH_WINDOW_MS,
  type GuardConfig,
  type GuardSettings,
  isGuardKey,
  readGuardConfig,
} from './config.ts';
import { hashKey, WindowedCounters } from './counters.ts';
import { GuardErrors } from './errors.ts';
import { redactSample, truncateSample } from './redact.ts';
import { type SessionSignal, SessionTracker } from './sessions.ts';
import { type StaticTrust, TrustPolicy } from './trust.ts';

export type GuardEventKind =
  | 'message'
  | 'wrong'
  | 'auth-challenge'
  | 'auth-fail'
  | 'auth-ok'
  | 'unauthorized'
  | 'call-start'
  | 'call-end'
  | 'connection-refused'
  | 'connection-evicted'
  | 'connection-timeout';

export interface GuardEvent {
  readonly kind: GuardEventKind;
  /** The packet's real source, canonical (src/ip.ts canonicalIp). */
  readonly ip: string;
  readonly port: number;
  /** The user the message is for or from (From/To/Request-URI/Authorization username). */
  readonly user?: string;
  /** User-Agent (requests) or Server (responses) header. */
  readonly userAgent?: string;
  readonly method?: string;
  /** The message text, for the evidence of a ban (truncated and redacted before storing). */
  readonly sample?: string;
  /** Call-ID: session-level limits. */
  readonly callId?: string;
  /** The numeric user id, for maxcallperuserid. */
  readonly userId?: number;
  /** call-end: how long the call lasted. */
  readonly durationSeconds?: number;
}

export type GuardAction = 'pass' | 'drop' | 'ban' | 'close-session';

/** What explains a ban (stored with it, shown by `tollgatectl bans`). */
export interface BanEvidence {
  /** One line for an operator. */
  reason: string;
  /** The config key whose threshold tripped (the counter's name). */
  rule: string;
  /** What was counted. */
  counter: string;
  scope: 'ip' | 'ip:port' | 'session' | 'call';
  ip: string;
  port?: number;
  user?: string;
  userAgent?: string;
  callId?: string;
  count: number;
  threshold: number;
  /** Window length in seconds (0 for single-message rules such as blockua). */
  windowSeconds: number;
  /** ms since epoch: when the counted window opened. */
  windowStart: number;
  first?: { at: number; sample?: string };
  last: { at: number; method?: string; sample?: string };
  /** ms since epoch: when the guard decided. */
  startedAt: number;
  ttlSeconds: number;
}

export interface GuardDecision {
  readonly action: GuardAction;
  /** The rule (config key) behind a drop, ban, close-session or detection. */
  readonly rule?: string;
  readonly scope?: BanEvidence['scope'];
  readonly evidence?: BanEvidence;
  /** Detect-only modes: what would have been banned. The action stays 'pass'. */
  readonly detected?: BanEvidence;
}

export type BanSink = (
  ip: string,
  ttlSeconds: number,
  reason: string,
  evidence: BanEvidence,
) => unknown;

export type PortBanSink = (
  ip: string,
  port: number,
  ttlSeconds: number,
  reason: string,
  evidence: BanEvidence,
) => unknown;

/**
 * Billing's answer for maxcostperip: what calls from `ip` have cost since `sinceMs`, in
 * integer micro-units. Wired by the billing module; without it maxcostperip is not checked.
 */
export interface PerIpUsage {
  costMicros(ip: string, sinceMs: number): number;
}

export interface GuardOptions {
  settings: GuardSettings;
  ban: BanSink;
  portBan?: PortBanSink;
  log?: Logger;
  /** ms since epoch; tests pass a fake clock. */
  now?: () => number;
  /** Server load 0..1 for maxsubsipauthrequest = -1 (default: event loop utilisation). */
  load?: () => number;
  /** Keys per counter table (default 65536). */
  capacity?: number;
  usage?: PerIpUsage;
}

const PASS: GuardDecision = Object.freeze({ action: 'pass' });
const DROP_BANNED: GuardDecision = Object.freeze({ action: 'drop', rule: 'banned', scope: 'ip' });
const DROP_PORT_BANNED: GuardDecision = Object.freeze({
  action: 'drop',
  rule: 'banned',
  scope: 'ip:port',
});
const DROP_ALLOWUA: GuardDecision = Object.freeze({ action: 'drop', rule: 'allowua' });
const DROP_BLOCKUA_TRUSTED: GuardDecision = Object.freeze({ action: 'drop', rule: 'blockua' });
const DROP_BLOCKUA_DETECTED: GuardDecision = DROP_BLOCKUA_TRUSTED;

/** Default load: event loop utilisation, sampled at most once a second (of the guard's clock). */
function eventLoopLoad(): (now: number) => number {
  let previous = performance.eventLoopUtilization();
  let value = 0;
  let at = 0;
  return (now) => {
    if (now - at >= 1000) {
      const current = performance.eventLoopUtilization();
      value = performance.eventLoopUtilization(current, previous).utilization;
      previous = current;
      at = now;
    }
    return value;
  };
}

/** A bounded map of bans enforced in userspace: key → expiry ms (insertion order = age). */
class ExpiringSet {
  readonly #map = new Map<string, number>();
  readonly #capacity: number;
  constructor(capacity: number) {
    this.#capacity = capacity;
  }
  add(key: string, expiresAt: number): void {
    this.#map.delete(key);
    this.#map.set(key, expiresAt);
    if (this.#map.size > this.#capacity) {
      const oldest = this.#map.keys().next().value;
      if (oldest !== undefined) this.#map.delete(oldest);
    }
  }
  has(key: string, now: number): boolean {
    const expires = this.#map.get(key);
    if (expires === undefined) return false;
    if (now < expires) return true;
    this.#map.delete(key);
    return false;
  }
  delete(key: string): boolean {
    return this.#map.delete(key);
  }
  keys(): IterableIterator<string> {
    return this.#map.keys();
  }
  clear(): void {
    this.#map.clear();
  }
  get size(): number {
    return this.#map.size;
  }
}

const COUNTER_NAMES = {
  maxsubsmsgcount: 'messages from the address',
  maxwrongmsgallowed: 'wrong or meaningless messages from the address',
  maxsubsipauthrequest: 'auth requests from the address with no success since the last one',
  maxwrongauthfromip: 'unauthorized requests from the address',
  maxfailedauthenabledipport: 'failed authentications from the IP:port',
  maxfailedauthenabledip: 'failed authentications from the address',
  fastauthsubswrongusermsg: 'not authenticated messages from the address in 90 s',
  blockscanning_treshold: 'distinct usernames tried from the address without success',
  blockua: 'User-Agent on the blockua list',
  maxcallperip: 'calls from the address',
  maxdurationperip: 'call seconds from the address',
  maxcostperip: 'call cost from the address (micro-units)',
  sessionmaxmsg: 'messages in the session',
  sessionmaxquickmsg: 'abnormally quick messages in the session',
  sessionmaxinvalid: 'consecutive invalid messages in the session',
  sessionmaxauthfail: 'failed authentications in the session',
  maxconnlimithits: 'connections refused, evicted or closed by a deadline for the address',
} as const;

type Rule = keyof typeof COUNTER_NAMES;

interface Trip {
  rule: Rule;
  scope: BanEvidence['scope'];
  count: number;
  threshold: number;
  windowMs: number;
  windowStart: number;
  first: string | undefined;
}

export class Guard {
  readonly #settings: GuardSettings;
  readonly #banSink: BanSink;
  readonly #portBanSink: PortBanSink | undefined;
  readonly #log: Logger | undefined;
  readonly #now: () => number;
  /** Given the event's time, so the default sampler needs no clock read of its own. */
  readonly #load: (now: number) => number;
  readonly #usage: PerIpUsage | undefined;
  readonly #unsubscribe: () => void;
  #cfg: GuardConfig;
  #trust: TrustPolicy;
  /**
   * The address of the last event, and what was worked out for it: its static trust and
   * (-1 until needed) its hash. A phone's REGISTER, its challenge, the answer and the
   * success all come from one address, so most events reuse them.
   */
  #sourceIp: string | undefined;
  #sourceTrust: StaticTrust = 'never';
  #sourceHash = -1;

  // Per address unless said otherwise; First = a truncated sample (evidence).
  readonly #messages: WindowedCounters<string>;
  readonly #wrong: WindowedCounters<string>;
  readonly #authNoSuccess: WindowedCounters<string>;
  readonly #wrongAuth: WindowedCounters<string>;
  readonly #failedAuthIp: WindowedCounters<string>;
  /** Keyed "ip:port" (the NAT rule). */
  readonly #failedAuthIpPort: WindowedCounters<string>;
  readonly #fastAuth: WindowedCounters<string>;
  readonly #scanUsers: WindowedCounters<string>;
  /** Keyed "ip\nuser": whether this user was already counted for this address. */
  readonly #scanPairs: WindowedCounters;
  readonly #calls: WindowedCounters<string>;
  readonly #callSeconds: WindowedCounters<string>;
  readonly #connLimits: WindowedCounters<string>;
  /** Detect-only modes: addresses whose blockua detection was already logged. */
  readonly #uaHits: WindowedCounters<string>;
  readonly #tables: WindowedCounters<string>[];

  readonly #sessions: SessionTracker;
  readonly #bannedIps: ExpiringSet;
  readonly #bannedPorts: ExpiringSet;
  /** ip → when its last IP:port ban expires, so the common path skips the "ip:port" lookup. */
  readonly #portBannedIps = new Map<string, number>();

  /** fastauthsubswrongusermsg × 10 over all addresses (the reference's "X*10 for any IP"). */
  #globalFast = 0;
  #globalFastStart = 0;
  #pressureUntil = 0;
  #nextResetAt: number;

  constructor(options: GuardOptions) {
    this.#settings = options.settings;
    this.#banSink = options.ban;
    this.#portBanSink = options.portBan;
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    this.#load = options.load ?? eventLoopLoad();
    this.#usage = options.usage;
    this.#cfg = readGuardConfig(this.#settings);
    this.#trust = new TrustPolicy(this.#cfg.trust, this.#cfg.reenableMs);
    const capacity = options.capacity ?? 65_536;
    const c = this.#cfg;
    const table = (periodMs: number) => new WindowedCounters<string>({ periodMs, capacity });
    this.#messages = table(c.msgPeriodMs);
    this.#wrong = table(c.wrongPeriodMs);
    this.#authNoSuccess = table(c.failAuthPeriodMs);
    this.#wrongAuth = table(c.failAuthPeriodMs);
    this.#failedAuthIp = table(c.failAuthPeriodMs);
    this.#failedAuthIpPort = table(c.failAuthPeriodMs);
    this.#fastAuth = table(FAST_AUTH_WINDOW_MS);
    this.#scanUsers = table(c.failAuthPeriodMs);
    this.#scanPairs = new WindowedCounters({ periodMs: c.failAuthPeriodMs, capacity });
    this.#calls = table(c.callPeriodMs);
    this.#callSeconds = table(c.callPeriodMs);
    this.#connLimits = table(c.connLimitPeriodMs);
    this.#uaHits = table(c.reenableMs);
    this.#tables = [
      this.#messages,
      this.#wrong,
      this.#authNoSuccess,
      this.#wrongAuth,
      this.#failedAuthIp,
      this.#failedAuthIpPort,
      this.#fastAuth,
      this.#scanUsers,
      this.#calls,
      this.#callSeconds,
      this.#connLimits,
      this.#uaHits,
    ];
    this.#sessions = new SessionTracker(capacity);
    this.#bannedIps = new ExpiringSet(capacity);
    this.#bannedPorts = new ExpiringSet(capacity);
    this.#nextResetAt = this.#now() + c.reenableMs;
    this.#unsubscribe = this.#settings.onChange((key) => {
      if (isGuardKey(key)) this.#reconfigure();
    });
  }

  /** Stops following live config changes. */
  close(): void {
    this.#unsubscribe();
  }

  #reconfigure(): void {
    const c = readGuardConfig(this.#settings);
    const trustChanged =
      JSON.stringify(c.trust) !== JSON.stringify(this.#cfg.trust) ||
      c.reenableMs !== this.#cfg.reenableMs;
    if (c.reenableMs !== this.#cfg.reenableMs)
      this.#nextResetAt = Math.min(this.#nextResetAt, this.#now() + c.reenableMs);
    this.#cfg = c;
    // Running windows keep their start and are judged by the new length.
    this.#messages.periodMs = c.msgPeriodMs;
    this.#wrong.periodMs = c.wrongPeriodMs;
    for (const t of [
      this.#authNoSuccess,
      this.#wrongAuth,
      this.#failedAuthIp,
      this.#failedAuthIpPort,
      this.#scanUsers,
      this.#scanPairs,
    ])
      t.periodMs = c.failAuthPeriodMs;
    this.#calls.periodMs = c.callPeriodMs;
    this.#callSeconds.periodMs = c.callPeriodMs;
    this.#connLimits.periodMs = c.connLimitPeriodMs;
    this.#uaHits.periodMs = c.reenableMs;
    // New trust rules (dynamic trust from authentications starts over).
    if (trustChanged) this.#trust = new TrustPolicy(c.trust, c.reenableMs);
    this.#sourceIp = undefined;
  }

  /** Whether events from ip:port may be served at all (userspace bans, IP and IP:port). */
  allow(ip: string, port: number): boolean {
    const now = this.#now();
    return this.#bannedDecision(ip, port, now) === undefined;
  }

  #bannedDecision(ip: string, port: number, now: number): GuardDecision | undefined {
    if (this.#bannedIps.size > 0 && this.#bannedIps.has(ip, now)) return DROP_BANNED;
    if (this.#portBannedIps.size > 0) {
      const until = this.#portBannedIps.get(ip);
      if (until === undefined) return undefined;
      if (now >= until) {
        this.#portBannedIps.delete(ip);
        return undefined;
      }
      if (this.#bannedPorts.has(`${ip}:${port}`, now)) return DROP_PORT_BANNED;
    }
    return undefined;
  }

  /** The decision for one event. Never throws on what came from the network. */
  observe(event: GuardEvent): GuardDecision {
    const now = this.#now();
    if (now >= this.#nextResetAt) this.#periodicReset(now);
    const cfg = this.#cfg;
    const { ip, kind } = event;
    if (cfg.enablefirewall === 0) {
      return kind === 'call-start' || kind === 'call-end'
        ? this.#callLimits(event, now, true)
        : PASS;
    }

    const banned = this.#bannedDecision(ip, event.port, now);
    if (banned !== undefined) return banned;
    if (ip !== this.#sourceIp) {
      this.#sourceIp = ip;
      this.#sourceTrust = this.#trust.staticTrust(ip);
      this.#sourceHash = -1;
    }
    const trusted = this.#trust.reasonGiven(this.#sourceTrust, ip, now) !== undefined;

    const ua = event.userAgent;
    if (ua !== undefined && !cfg.blockua.empty && cfg.blockua.matches(ua)) {
      if (trusted) return DROP_BLOCKUA_TRUSTED;
      // Detect-only: the scanner's message is still refused, and the detection is logged
      // once per address per reenabledosblocked instead of once per message.
      const detectOnly = cfg.enablefirewall < 2 || cfg.autoban === 0;
      if (detectOnly && this.#uaHits.add(ip, now) !== 1) return DROP_BLOCKUA_DETECTED;
      const d = this.#trip(event, now, {
        rule: 'blockua',
        scope: 'ip',
        count: 1,
        threshold: 1,
        windowMs: 0,
        windowStart: now,
        first: undefined,
      });
      return detectOnly ? { ...d, action: 'drop' } : d;
    }
    if (kind === 'message' && !cfg.allowua.empty && (ua === undefined || !cfg.allowua.matches(ua)))
      return DROP_ALLOWUA;

    let decision: GuardDecision = PASS;
    if (!trusted) decision = this.#addressLevel(event, now, this.#sourceHashOf(ip));
    else if (kind === 'auth-ok') this.#authenticated(event, now, this.#sourceHashOf(ip));
    if (decision.action === 'ban') return decision;

    if (kind === 'call-start' || kind === 'call-end') {
      const call = this.#callLimits(event, now, trusted);
      if (call !== PASS) return call;
    }

    const callId = event.callId;
    if (callId !== undefined) {
      const session = this.#session(event, callId, now);
      if (session !== undefined) return session;
    }
    return decision;
  }

  /** hashKey(ip) for the event's address (#sourceIp), worked out once per address. */
  #sourceHashOf(ip: string): number {
    if (this.#sourceHash < 0) this.#sourceHash = hashKey(ip);
    return this.#sourceHash;
  }

  /** The address's counters; `h` is hashKey(event.ip), shared by every table. */
  #addressLevel(event: GuardEvent, now: number, h: number): GuardDecision {
    const cfg = this.#cfg;
    const ip = event.ip;
    switch (event.kind) {
      case 'message': {
        const d = this.#count(
          this.#messages,
          ip,
          h,
          event,
          now,
          'maxsubsmsgcount',
          cfg.maxsubsmsgcount,
        );
        if (d !== PASS) return d;
        if (event.method === 'OPTIONS' && event.user) return this.#scan(event, now, h);
        return PASS;
      }
      case 'wrong':
        return this.#count(
          this.#wrong,
          ip,
          h,
          event,
          now,
          'maxwrongmsgallowed',
          cfg.maxwrongmsgallowed,
        );
      case 'auth-challenge': {
        let d = this.#authRequests(event, now, h);
        if (d.action !== 'ban') d = this.#merge(d, this.#fast(event, now, h));
        if (d.action !== 'ban') d = this.#merge(d, this.#scan(event, now, h));
        return d;
      }
      case 'auth-fail': {
        // IP:port first (the NAT rule), then the whole address.
        const ipPort = `${ip}:${event.port}`;
        const port = this.#count(
          this.#failedAuthIpPort,
          ipPort,
          hashKey(ipPort),
          event,
          now,
          'maxfailedauthenabledipport',
          cfg.maxfailedauthenabledipport,
          'ip:port',
        );
        const fi = cfg.maxfailedauthenabledip;
        let d = this.#count(this.#failedAuthIp, ip, h, event, now, 'maxfailedauthenabledip', fi);
        if (d.action !== 'ban') d = this.#merge(d, this.#wrongAuthFrom(event, now, h));
        if (d.action !== 'ban') d = this.#merge(d, this.#authRequests(event, now, h));
        if (d.action !== 'ban') d = this.#merge(d, this.#fast(event, now, h));
        if (d.action !== 'ban') d = this.#merge(d, this.#scan(event, now, h));
        return d !== PASS ? d : port;
      }
      case 'unauthorized': {
        let d = this.#wrongAuthFrom(event, now, h);
        if (d.action !== 'ban') d = this.#merge(d, this.#fast(event, now, h));
        if (d.action !== 'ban') d = this.#merge(d, this.#scan(event, now, h));
        return d;
      }
      case 'auth-ok':
        this.#authenticated(event, now, h);
        return PASS;
      case 'connection-refused':
      case 'connection-evicted':
      case 'connection-timeout': {
        const limit = cfg.maxconnlimithits;
        return this.#count(this.#connLimits, ip, h, event, now, 'maxconnlimithits', limit);
      }
      default:
        return PASS;
    }
  }

  /** Several checks on one event: the first non-pass decision is the answer. */
  #merge(d: GuardDecision, next: GuardDecision): GuardDecision {
    return d === PASS ? next : d;
  }

  #authRequests(event: GuardEvent, now: number, h: number): GuardDecision {
    const limit = this.#authRequestLimit(now);
    return this.#count(this.#authNoSuccess, event.ip, h, event, now, 'maxsubsipauthrequest', limit);
  }

  #wrongAuthFrom(event: GuardEvent, now: number, h: number): GuardDecision {
    const limit = this.#cfg.maxwrongauthfromip;
    return this.#count(this.#wrongAuth, event.ip, h, event, now, 'maxwrongauthfromip', limit);
  }

  #authRequestLimit(now: number): number {
    const configured = this.#cfg.maxsubsipauthrequest;
    return configured === -1 ? derivedAuthRequestLimit(this.#load(now)) : configured;
  }

  #authenticated(event: GuardEvent, now: number, h: number): void {
    // A success ends the run of "subsequent auth requests with no positive result" and
    // proves the source holds a credential, which clears its scanning signs.
    this.#authNoSuccess.deleteHashed(event.ip, h);
    this.#scanUsers.deleteHashed(event.ip, h);
    if (this.#trust.authenticated(event.ip, event.method, now))
      this.#log?.info(
        { ip: event.ip, port: event.port, user: event.user },
        'address trusted after authentication',
      );
  }

  /**
   * Counts one for `key` (hash `h` = hashKey(key)) and trips `rule` when the count reaches
   * `threshold` (0 = off).
   */
  #count(
    table: WindowedCounters<string>,
    key: string,
    h: number,
    event: GuardEvent,
    now: number,
    rule: Rule,
    threshold: number,
    scope: BanEvidence['scope'] = 'ip',
    by = 1,
  ): GuardDecision {
    if (threshold <= 0) return PASS;
    const count = table.addHashed(key, h, now, by);
    // The window just opened: keep a bounded copy of the message that opened it.
    if (count === by && event.sample !== undefined) table.setFirst(truncateSample(event.sample));
    if (count < threshold || !table.tripOnce()) return PASS;
    return this.#trip(event, now, {
      rule,
      scope,
      count,
      threshold,
      windowMs: table.periodMs,
      windowStart: table.lastStart(),
      first: table.lastFirst(),
    });
  }

  /** fastauthsubswrongusermsg: per address, and ×10 over all addresses. */
  #fast(event: GuardEvent, now: number, h: number): GuardDecision {
    const x = this.#cfg.fastauthsubswrongusermsg;
    if (x <= 0) return PASS;
    if (now - this.#globalFastStart >= FAST_AUTH_WINDOW_MS) {
      this.#globalFastStart = now;
      this.#globalFast = 0;
    }
    this.#globalFast++;
    if (this.#globalFast === x * 10) {
      // Many addresses together: nobody to ban, so every address gets a tenth of the budget
      // (at least 10) until the window ends. A registering phone needs 1–2 per 90 s.
      this.#pressureUntil = this.#globalFastStart + FAST_AUTH_WINDOW_MS;
      this.#log?.warn(
        { count: this.#globalFast, threshold: x * 10 },
        'unauthenticated messages from many addresses: per-address limit lowered for 90 s',
      );
    }
    const limit = now < this.#pressureUntil ? Math.max(10, Math.ceil(x / 10)) : x;
    return this.#count(this.#fastAuth, event.ip, h, event, now, 'fastauthsubswrongusermsg', limit);
  }

  /** blockscanning_treshold: distinct usernames tried from one address without a success. */
  #scan(event: GuardEvent, now: number, h: number): GuardDecision {
    const threshold = this.#cfg.blockscanning_treshold;
    const user = event.user;
    if (threshold <= 0 || user === undefined || user === '') return PASS;
    // Keyed "ip\nuser" (addPair makes that string only for a pair it has not seen).
    if (this.#scanPairs.addPair(event.ip, user, now) !== 1) return PASS;
    return this.#count(
      this.#scanUsers,
      event.ip,
      h,
      event,
      now,
      'blockscanning_treshold',
      threshold,
    );
  }

  #callLimits(event: GuardEvent, now: number, trusted: boolean): GuardDecision {
    const cfg = this.#cfg;
    const ip = event.ip;
    if (event.kind === 'call-end') {
      const seconds = event.durationSeconds;
      if (
        cfg.maxdurationperip > 0 &&
        seconds !== undefined &&
        seconds > 0 &&
        this.#appliesToUser(event)
      )
        this.#callSeconds.add(ip, now, seconds);
      if (event.callId !== undefined) this.#sessions.end(event.callId);
      return PASS;
    }
    if (!this.#appliesToUser(event)) return PASS;
    // Per-IP call limits are allowances: the call beyond the maximum is refused.
    if (cfg.maxcallperip > 0) {
      const count = this.#calls.add(ip, now);
      if (count > cfg.maxcallperip)
        return this.#refuseCall(
          event,
          now,
          trusted,
          'maxcallperip',
          count,
          cfg.maxcallperip,
          this.#calls,
        );
    }
    if (cfg.maxdurationperip > 0) {
      const seconds = this.#callSeconds.get(ip, now);
      if (seconds >= cfg.maxdurationperip)
        return this.#refuseCall(
          event,
          now,
          trusted,
          'maxdurationperip',
          seconds,
          cfg.maxdurationperip,
          this.#callSeconds,
        );
    }
    if (cfg.maxcostperipMicros > 0 && this.#usage !== undefined) {
      const since = this.#calls.windowStart(ip, now) ?? now - cfg.callPeriodMs;
      const cost = this.#usage.costMicros(ip, since);
      if (cost >= cfg.maxcostperipMicros)
        return this.#refuseCall(
          event,
          now,
          trusted,
          'maxcostperip',
          cost,
          cfg.maxcostperipMicros,
          this.#calls,
        );
    }
    return PASS;
  }

  #appliesToUser(event: GuardEvent): boolean {
    const only = this.#cfg.maxcallperuserid;
    return only === -1 || event.userId === only;
  }

  #refuseCall(
    event: GuardEvent,
    now: number,
    trusted: boolean,
    rule: Rule,
    count: number,
    threshold: number,
    table: WindowedCounters<string>,
  ): GuardDecision {
    const cfg = this.#cfg;
    const trip: Trip = {
      rule,
      scope: 'call',
      count,
      threshold,
      windowMs: cfg.callPeriodMs,
      windowStart: table.windowStart(event.ip, now) ?? now,
      first: undefined,
    };
    // autoban 2: "reject the caller and ban its source IP".
    if (cfg.autoban === 2 && cfg.enablefirewall >= 2 && !trusted)
      return this.#trip(event, now, { ...trip, scope: 'ip' });
    const evidence = this.#evidence(event, now, trip);
    this.#log?.info(
      { ip: event.ip, port: event.port, rule, count, threshold },
      'call refused by a per-IP limit',
    );
    return { action: 'drop', rule, scope: 'call', evidence };
  }

  #session(event: GuardEvent, callId: string, now: number): GuardDecision | undefined {
    let signal: SessionSignal;
    if (event.kind === 'message') signal = 'message';
    else if (event.kind === 'wrong') signal = 'invalid';
    else if (event.kind === 'auth-fail') signal = 'auth-fail';
    else return undefined;
    const verdict = this.#sessions.record(callId, signal, now, this.#cfg.session);
    if (verdict === undefined) return undefined;
    const evidence = this.#evidence(event, now, {
      rule: verdict,
      scope: 'session',
      count: this.#sessions.lastCount,
      threshold: this.#cfg.session[verdict],
      windowMs: 0,
      windowStart: now,
      first: undefined,
    });
    this.#log?.warn({ ip: event.ip, port: event.port, callId, rule: verdict }, 'session closed');
    return { action: 'close-session', rule: verdict, scope: 'session', evidence };
  }

  #evidence(event: GuardEvent, now: number, trip: Trip): BanEvidence {
    const ttlSeconds = Math.round(this.#cfg.reenableMs / 1000);
    const windowSeconds = Math.round(trip.windowMs / 1000);
    const what = COUNTER_NAMES[trip.rule];
    const reason =
      trip.rule === 'blockua'
        ? `blockua: User-Agent "${(event.userAgent ?? '').slice(0, 80)}" matches "${this.#cfg.blockua.which(event.userAgent ?? '') ?? ''}"`
        : `${trip.rule}: ${trip.count} ${what}${windowSeconds > 0 ? ` within ${windowSeconds} s` : ''} (threshold ${trip.threshold})`;
    const evidence: BanEvidence = {
      reason,
      rule: trip.rule,
      counter: what,
      scope: trip.scope,
      ip: event.ip,
      count: trip.count,
      threshold: trip.threshold,
      windowSeconds,
      windowStart: trip.windowStart,
      last: { at: now },
      startedAt: now,
      ttlSeconds,
    };
    if (trip.scope === 'ip:port' || trip.scope === 'session' || trip.scope === 'call')
      evidence.port = event.port;
    if (event.user !== undefined) evidence.user = event.user.slice(0, 128);
    if (event.userAgent !== undefined) evidence.userAgent = event.userAgent.slice(0, 200);
    if (event.callId !== undefined && trip.scope === 'session')
      evidence.callId = event.callId.slice(0, 200);
    if (event.method !== undefined) evidence.last.method = event.method;
    if (event.sample !== undefined) evidence.last.sample = redactSample(event.sample);
    if (trip.first !== undefined)
      evidence.first = { at: trip.windowStart, sample: redactSample(trip.first) };
    return evidence;
  }

  /** A threshold tripped: ban (once), or in a detect-only mode log what would have been. */
  #trip(event: GuardEvent, now: number, trip: Trip): GuardDecision {
    const cfg = this.#cfg;
    const evidence = this.#evidence(event, now, trip);
    const fields = {
      ip: event.ip,
      port: event.port,
      rule: trip.rule,
      count: trip.count,
      threshold: trip.threshold,
    };
    if (cfg.enablefirewall < 2 || cfg.autoban === 0) {
      this.#log?.warn(
        { ...fields, scope: trip.scope },
        'attack detected (detect-only: enablefirewall < 2 or autoban 0)',
      );
      return { action: 'pass', rule: trip.rule, scope: trip.scope, detected: evidence };
    }
    const expiresAt = now + cfg.reenableMs;
    if (trip.scope === 'ip:port') {
      const key = `${event.ip}:${event.port}`;
      this.#bannedPorts.add(key, expiresAt);
      this.#portBannedIps.set(event.ip, expiresAt);
      this.#failedAuthIpPort.delete(key);
      this.#log?.warn(
        { ...fields, ttl: evidence.ttlSeconds },
        'IP:port banned (enforced in userspace)',
      );
      this.#callSink(
        () =>
          this.#portBanSink?.(event.ip, event.port, evidence.ttlSeconds, evidence.reason, evidence),
        event.ip,
      );
      return { action: 'ban', rule: trip.rule, scope: 'ip:port', evidence };
    }
    this.#bannedIps.add(event.ip, expiresAt);
    // Counters start from zero when the ban is lifted or expires (re-enabled).
    for (const t of this.#tables) t.delete(event.ip);
    this.#log?.warn({ ...fields, ttl: evidence.ttlSeconds }, 'address banned');
    this.#callSink(
      () => this.#banSink(event.ip, evidence.ttlSeconds, evidence.reason, evidence),
      event.ip,
    );
    return { action: 'ban', rule: trip.rule, scope: 'ip', evidence };
  }

  /** Calls a ban sink; a failure (sync or async) is logged, never thrown into the SIP layer. */
  #callSink(call: () => unknown, ip: string): void {
    const fail = (err: unknown) => {
      const error = new GuardErrors.TG_GUARD_BAN_FAILED(
        ip,
        'sink',
        (err as Error)?.message ?? String(err),
      );
      this.#log?.error({ ip, err: error }, error.message);
    };
    try {
      const result = call();
      if (result instanceof Promise) result.catch(fail);
    } catch (err) {
      fail(err);
    }
  }

  /** reenabledosblocked: every counter is reset periodically (bans expire by their TTL). */
  #periodicReset(now: number): void {
    for (const t of this.#tables) t.clear();
    this.#scanPairs.clear();
    this.#globalFast = 0;
    this.#pressureUntil = 0;
    this.#nextResetAt = now + this.#cfg.reenableMs;
    this.#log?.info({}, 'attack counters reset (reenabledosblocked)');
  }

  /**
   * `delbanned,IP` / `delbanned,all`: forgets the guard's own bans and counters for the
   * address (or everything), so the source starts clean. The kernel and store copies are
   * BanService.unban's job.
   */
  forget(target: string): void {
    if (target === 'all') {
      this.#bannedIps.clear();
      this.#bannedPorts.clear();
      this.#portBannedIps.clear();
      for (const t of this.#tables) t.clear();
      this.#scanPairs.clear();
      return;
    }
    this.#bannedIps.delete(target);
    const prefix = `${target}:`;
    for (const key of [...this.#bannedPorts.keys()]) {
      if (key.startsWith(prefix) && key.lastIndexOf(':') === prefix.length - 1) {
        this.#bannedPorts.delete(key);
        this.#failedAuthIpPort.delete(key);
      }
    }
    this.#portBannedIps.delete(target);
    for (const t of this.#tables) t.delete(target);
  }

  /**
   * Bans made elsewhere (the store at start, a manual `ban IP`): enforced here too, because
   * with enablefirewall 2 userspace is where bans are enforced. expiresAt 0 = until lifted.
   */
  adoptBans(bans: Iterable<{ ip: string; expiresAt: number }>): number {
    let n = 0;
    for (const ban of bans) {
      this.#bannedIps.add(ban.ip, ban.expiresAt === 0 ? Number.POSITIVE_INFINITY : ban.expiresAt);
      n++;
    }
    return n;
  }

  /** Why an address is trusted (never auto-banned), or undefined. */
  trustReason(ip: string): string | undefined {
    return this.#trust.reason(ip, this.#now());
  }

  /** True while many addresses together exceed fastauthsubswrongusermsg × 10. */
  underPressure(): boolean {
    return this.#now() < this.#pressureUntil;
  }

  stats(): {
    keys: number;
    capacity: number;
    evictions: number;
    bannedIps: number;
    bannedPorts: number;
    sessions: number;
    trustedDynamic: number;
  } {
    let keys = this.#scanPairs.size;
    let capacity = this.#scanPairs.capacity;
    let evictions = this.#scanPairs.evictions;
    for (const t of this.#tables) {
      keys += t.size;
      capacity += t.capacity;
      evictions += t.evictions;
    }
    return {
      keys,
      capacity,
      evictions,
      bannedIps: this.#bannedIps.size,
      bannedPorts: this.#bannedPorts.size,
      sessions: this.#sessions.size,
      trustedDynamic: this.#trust.dynamicSize,
    };
  }
}
