// The guard: the policy engine the SIP layer feeds with what it sees, one event per fact,
// and that answers, per event, pass / drop / ban / close-session. Its rules are the table in
// rules.ts (key, counter, window, action); this file runs one event through them in order:
//
//   1. a source banned in userspace (userspace-bans.ts) is dropped;
//   2. one message decides (user-agent-rules.ts): a blockua User-Agent is banned (dropped
//      and recorded when the source is trusted or the mode only detects), a message without
//      an allowua one dropped and recorded;
//   3. the address's counters (address-rules.ts), trusted sources included (not this
//      machine's own): a trusted source is never banned, but what it trips is recorded
//      (detections.ts), as in detect-only modes;
//   4. per-IP call allowances (call-limits.ts);
//   5. per-dialog limits (sessions.ts).
//
// What the SIP layer sends (one 'message' per received request or response, then the
// outcome events of that message): message (every parsed message), wrong (unparsable or
// meaningless), auth-challenge (a 401/407 was sent), auth-fail (credentials given, wrong),
// unauthorized (refused: unknown user, not allowed, no credentials), auth-ok (credentials
// accepted: resets the address's unanswered-challenge and scan counts; trustauthip),
// call-start and call-end, and connection-refused / -evicted / -timeout (a TCP or TLS
// connection refused at a cap, evicted, or closed by a deadline). rules.ts says which rule
// counts which.
//
// IP:port bans (maxfailedauthenabledipport): the reference bans the IP:port first so that a
// second device behind the same NAT address keeps working, and the whole IP only at
// maxfailedauthenabledip. They are enforced here, in userspace, and reported through the
// optional portBan callback (log, UI), not through ban().
//
// enablefirewall 0 = nothing is counted or dropped (call limits still apply, they are account
// limits). autoban 2 additionally bans an address that exceeds a per-IP call limit.
// reenabledosblocked: every counter is reset periodically (bans expire by their TTL).
//
// Hot path: a pass reads the clock once, hashes the address once for all its tables, and
// allocates only copies of what a table keeps (a new session's Call-ID, the sample of a
// window that opens, a new scan pair's key: detach.ts); counters and sessions are typed
// arrays, the answer a frozen PASS, the UA list one regex whose last answer is remembered.
// Memory is bounded: every table has a fixed capacity (counters.ts explains the eviction).
// The guard keeps nothing of an event past observe(), so a caller may refill one event
// object for every message.
import type { Logger } from '../../log.ts';
import { AddressRules } from './address-rules.ts';
import { CallLimits } from './call-limits.ts';
import {
  GUARD_KEYS,
  type GuardConfig,
  type GuardSettings,
  type GuardView,
  isGuardKey,
  readGuardConfig,
} from './config.ts';
import { hashKey } from './counters.ts';
import { DetectionLog, type DetectionRecord } from './detections.ts';
import { Enforcer } from './enforce.ts';
import {
  type BanSink,
  type GuardDecision,
  type GuardEvent,
  PASS,
  type PerIpUsage,
  type PortBanSink,
} from './events.ts';
import { buildEvidence, type Trip } from './evidence.ts';
import { eventLoopLoad } from './load.ts';
import { FastAuthPressure } from './pressure.ts';
import type { RuleEnv } from './rules.ts';
import { type SessionSignal, SessionTracker } from './sessions.ts';
import { type StaticTrust, TrustPolicy } from './trust.ts';
import { UserAgentRules } from './user-agent-rules.ts';
import { UserspaceBans } from './userspace-bans.ts';

export type {
  BanEvidence,
  BanSink,
  GuardAction,
  GuardDecision,
  GuardEvent,
  GuardEventKind,
  PerIpUsage,
  PortBanSink,
} from './events.ts';

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

export class Guard {
  readonly #view: GuardView;
  readonly #log: Logger | undefined;
  readonly #now: () => number;
  /** Given the event's time, so the default sampler needs no clock read of its own. */
  readonly #load: (now: number) => number;
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
  /** The event being evaluated: its time and why its source is trusted (rules' env). */
  #eventNow = 0;
  #eventTrust: string | undefined;

  readonly #address: AddressRules;
  readonly #calls: CallLimits;
  readonly #userAgents: UserAgentRules;
  readonly #sessions: SessionTracker;
  readonly #bans: UserspaceBans;
  readonly #pressure: FastAuthPressure;
  readonly #detections: DetectionLog;
  readonly #enforcer: Enforcer;
  readonly #env: RuleEnv;
  readonly #onTrip: (event: GuardEvent, now: number, trip: Trip) => GuardDecision;
  #nextResetAt: number;

  constructor(options: GuardOptions) {
    this.#view = options.settings.view(GUARD_KEYS);
    this.#log = options.log;
    this.#now = options.now ?? Date.now;
    const load = options.load;
    this.#load = load !== undefined ? () => load() : eventLoopLoad();
    this.#cfg = readGuardConfig(this.#view);
    this.#trust = new TrustPolicy(this.#cfg.trust, this.#cfg.reenableMs);
    const capacity = options.capacity ?? 65_536;
    const c = this.#cfg;
    this.#address = new AddressRules(c, capacity);
    this.#calls = new CallLimits(c, capacity, options.usage);
    this.#sessions = new SessionTracker(capacity);
    this.#bans = new UserspaceBans(capacity);
    this.#pressure = new FastAuthPressure(this.#log);
    this.#detections = new DetectionLog(this.#log);
    this.#enforcer = new Enforcer({
      ban: options.ban,
      portBan: options.portBan,
      log: this.#log,
      bans: this.#bans,
      detections: this.#detections,
      forgetCounts: (ip) => this.#forgetCounts(ip),
      forgetPortCount: (key) => this.#address.deletePortKeys([key]),
    });
    this.#userAgents = new UserAgentRules(c, capacity, this.#detections, this.#enforcer);
    this.#env = {
      load: () => this.#load(this.#eventNow),
      // autofinetune 0: every address keeps its configured budget whatever the others send
      // (a consistent service level; pressure.ts is the adaptation it switches off).
      fastLimit: (configured) =>
        this.#cfg.autofinetune
          ? this.#pressure.limit(configured, this.#eventNow, this.#eventTrust === undefined)
          : configured,
    };
    this.#onTrip = (event, now, trip) =>
      this.#enforcer.trip(this.#cfg, event, now, trip, this.#eventTrust);
    this.#nextResetAt = this.#now() + c.reenableMs;
    this.#unsubscribe = options.settings.onChange((key) => {
      if (isGuardKey(key)) this.#reconfigure();
    });
  }

  /** Stops following live config changes. */
  close(): void {
    this.#unsubscribe();
  }

  #reconfigure(): void {
    const c = readGuardConfig(this.#view);
    const trustChanged =
      JSON.stringify(c.trust) !== JSON.stringify(this.#cfg.trust) ||
      c.reenableMs !== this.#cfg.reenableMs;
    if (c.reenableMs !== this.#cfg.reenableMs)
      this.#nextResetAt = Math.min(this.#nextResetAt, this.#now() + c.reenableMs);
    this.#cfg = c;
    this.#address.reconfigure(c);
    this.#calls.reconfigure(c);
    this.#userAgents.reconfigure(c);
    // New trust rules (dynamic trust from authentications starts over).
    if (trustChanged) this.#trust = new TrustPolicy(c.trust, c.reenableMs);
    this.#sourceIp = undefined;
  }

  /** Whether events from ip:port may be served at all (userspace bans, IP and IP:port). */
  allow(ip: string, port: number): boolean {
    return this.#bans.decision(ip, port, this.#now()) === undefined;
  }

  /** The decision for one event. Never throws on what came from the network. */
  observe(event: GuardEvent): GuardDecision {
    const now = this.#now();
    if (now >= this.#nextResetAt) this.#periodicReset(now);
    const cfg = this.#cfg;
    const { ip, kind } = event;
    const isCall = kind === 'call-start' || kind === 'call-end';
    if (cfg.enablefirewall === 0) return isCall ? this.#callLimits(event, now, undefined) : PASS;

    const banned = this.#bans.decision(ip, event.port, now);
    if (banned !== undefined) return banned;
    if (ip !== this.#sourceIp) {
      this.#sourceIp = ip;
      this.#sourceTrust = this.#trust.staticTrust(ip);
      this.#sourceHash = -1;
    }
    const trustedBy = this.#trust.reasonGiven(this.#sourceTrust, ip, now);

    const byUserAgent = this.#userAgents.decide(cfg, event, now, trustedBy);
    if (byUserAgent !== undefined) return byUserAgent;

    // This machine's own traffic (loopback, sipaddress) is not counted: it cannot be
    // banned, and is no one's attack to record. Every other source is, trusted or not.
    let decision = PASS;
    if (trustedBy !== 'local' && trustedBy !== 'own-address') {
      this.#eventNow = now;
      this.#eventTrust = trustedBy;
      if (this.#sourceHash < 0) this.#sourceHash = hashKey(ip);
      decision = this.#address.evaluate(event, now, this.#sourceHash, cfg, this.#env, this.#onTrip);
    }
    if (kind === 'auth-ok') this.#authenticated(event, now);
    if (decision.action === 'ban') return decision;

    if (isCall) {
      const call = this.#callLimits(event, now, trustedBy);
      if (call !== PASS) return call;
    }
    const callId = event.callId;
    if (callId !== undefined) {
      const session = this.#session(event, callId, now);
      if (session !== undefined) return session;
    }
    return decision;
  }

  #authenticated(event: GuardEvent, now: number): void {
    // A success proves the source holds a credential (its counts were reset by the rules'
    // resetOn); trustauthip / treatusersasknownip may trust the address from now on.
    if (this.#trust.authenticated(event.ip, event.method, now))
      this.#log?.info(
        { ip: event.ip, port: event.port, user: event.user },
        'address trusted after authentication',
      );
  }

  #callLimits(event: GuardEvent, now: number, trustedBy: string | undefined): GuardDecision {
    const cfg = this.#cfg;
    if (event.kind === 'call-end') {
      this.#calls.ended(event, now, cfg);
      if (event.callId !== undefined) this.#sessions.end(event.callId);
      return PASS;
    }
    const refusal = this.#calls.started(event, now, cfg);
    if (refusal === undefined) return PASS;
    const trip: Trip = {
      rule: refusal.rule,
      scope: 'call',
      count: refusal.count,
      threshold: refusal.threshold,
      windowMs: cfg.callPeriodMs,
      windowStart: refusal.windowStart,
      first: undefined,
    };
    // autoban 2: "reject the caller and ban its source IP"; a trusted source's call is
    // refused and the ban it escaped recorded.
    if (cfg.autoban === 2 && cfg.enablefirewall >= 2) {
      const asBan: Trip = { ...trip, scope: 'ip' };
      if (trustedBy === undefined) return this.#enforcer.trip(cfg, event, now, asBan, undefined);
      if (!this.#detections.touch(event.ip, refusal.rule, now))
        this.#detections.add(
          buildEvidence(cfg, event, now, asBan),
          `not banned: trusted by ${trustedBy}`,
          now,
        );
    }
    const evidence = buildEvidence(cfg, event, now, trip);
    this.#log?.info(
      {
        ip: event.ip,
        port: event.port,
        rule: refusal.rule,
        count: refusal.count,
        threshold: refusal.threshold,
      },
      'call refused by a per-IP limit',
    );
    return { action: 'drop', rule: refusal.rule, scope: 'call', evidence };
  }

  #session(event: GuardEvent, callId: string, now: number): GuardDecision | undefined {
    let signal: SessionSignal;
    if (event.kind === 'message') signal = 'message';
    else if (event.kind === 'wrong') signal = 'invalid';
    else if (event.kind === 'auth-fail') signal = 'auth-fail';
    else return undefined;
    const verdict = this.#sessions.record(callId, signal, now, this.#cfg.session);
    if (verdict === undefined) return undefined;
    const evidence = buildEvidence(this.#cfg, event, now, {
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

  /** Counters start from zero when the ban is lifted or expires (re-enabled). */
  #forgetCounts(ip: string): void {
    this.#address.delete(ip);
    this.#calls.delete(ip);
    this.#userAgents.hits.delete(ip);
  }

  /** reenabledosblocked: every counter is reset periodically (bans expire by their TTL). */
  #periodicReset(now: number): void {
    this.#address.clear();
    this.#calls.clear();
    this.#userAgents.hits.clear();
    this.#pressure.reset();
    this.#nextResetAt = now + this.#cfg.reenableMs;
    this.#log?.info({}, 'attack counters reset (reenabledosblocked)');
  }

  /**
   * `delbanned,IP` / `delbanned,all`: forgets the guard's own bans and counters for the
   * address (or everything), so the source starts clean. The kernel and store copies are
   * BanService.unban's job.
   */
  forget(target: string): void {
    const portKeys = this.#bans.forget(target);
    if (target === 'all') {
      this.#address.clear();
      this.#calls.clear();
      this.#userAgents.hits.clear();
      return;
    }
    this.#address.deletePortKeys(portKeys);
    this.#forgetCounts(target);
  }

  /**
   * Bans made elsewhere (the store at start, a manual `ban IP`): enforced here too, because
   * with enablefirewall 2 userspace is where bans are enforced. expiresAt 0 = until lifted.
   */
  adoptBans(bans: Iterable<{ ip: string; expiresAt: number }>): number {
    let n = 0;
    for (const ban of bans) {
      this.#bans.banIp(ban.ip, ban.expiresAt === 0 ? Number.POSITIVE_INFINITY : ban.expiresAt);
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
    return this.#pressure.active(this.#now());
  }

  /** What was detected and not banned (trusted source, detect-only mode, allowua), newest first. */
  detections(): DetectionRecord[] {
    return this.#detections.list();
  }

  stats(): {
    keys: number;
    capacity: number;
    evictions: number;
    bannedIps: number;
    bannedPorts: number;
    sessions: number;
    trustedDynamic: number;
    detections: number;
    detectionsForgotten: number;
  } {
    let keys = 0;
    let capacity = 0;
    let evictions = 0;
    for (const t of [...this.#address.tables(), ...this.#calls.tables(), this.#userAgents.hits]) {
      keys += t.size;
      capacity += t.capacity;
      evictions += t.evictions;
    }
    return {
      keys,
      capacity,
      evictions,
      bannedIps: this.#bans.ipCount,
      bannedPorts: this.#bans.portCount,
      sessions: this.#sessions.size,
      trustedDynamic: this.#trust.dynamicSize,
      detections: this.#detections.size,
      detectionsForgotten: this.#detections.forgotten,
    };
  }
}
