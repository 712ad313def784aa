// Connects the guard to the SIP service and the ban store: what the SIP layer sees becomes
// guard events, and the guard's bans become stored bans that the dataplane enforces.

import type { Settings } from '../config/settings.ts';
import type { Dataplane } from '../dataplane/types.ts';
import type { Logger } from '../log.ts';
import { LogLimiter } from '../log-limit.ts';
import type { InboundMessage, SecurityReport, SecurityVerdict } from '../policy-port.ts';
import type { BanService } from './bans.ts';
import { Guard, type GuardEvent, type GuardEventKind, type PerIpUsage } from './guard/index.ts';

/** An IP:port ban (maxfailedauthenabledipport): enforced by the guard in userspace only. */
export interface PortBanRecord {
  ip: string;
  port: number;
  reason: string;
  evidence: Record<string, unknown>;
  createdAt: number;
  expiresAt: number;
}

/**
 * The IP:port bans the guard made, kept so `tollgatectl bans` can explain them and
 * `delbanned` can lift them. Bounded: the oldest are forgotten first (the guard's own set is
 * bounded the same way).
 */
export class PortBans {
  static readonly CAPACITY = 10_000;
  /** Lines naming each lifted ban, per lift; past that one line counts the rest. */
  static readonly LOGGED_PER_LIFT = 100;
  readonly #records = new Map<string, PortBanRecord>();
  readonly #guard: () => Guard;
  readonly #log: Logger | undefined;

  constructor(guard: () => Guard, log?: Logger) {
    this.#guard = guard;
    this.#log = log;
  }

  record(entry: PortBanRecord): void {
    const key = `${entry.ip}|${entry.port}`;
    this.#records.delete(key);
    this.#records.set(key, entry);
    if (this.#records.size > PortBans.CAPACITY)
      this.#records.delete(this.#records.keys().next().value!);
  }

  list(now = Date.now()): PortBanRecord[] {
    return [...this.#records.values()].filter((r) => r.expiresAt > now).reverse();
  }

  /** Lifts the IP:port bans of one address ('all': every one); returns how many. Each is logged. */
  lift(target: string): number {
    const now = Date.now();
    let lifted = 0;
    for (const [key, r] of [...this.#records]) {
      if (target !== 'all' && r.ip !== target) continue;
      this.#records.delete(key);
      if (r.expiresAt <= now) continue;
      lifted++;
      if (lifted <= PortBans.LOGGED_PER_LIFT)
        this.#log?.warn({ ip: r.ip, port: r.port, reason: r.reason }, 'address:port ban lifted');
    }
    if (lifted > PortBans.LOGGED_PER_LIFT)
      this.#log?.warn(
        { count: lifted - PortBans.LOGGED_PER_LIFT, target },
        'more address:port bans lifted',
      );
    if (lifted > 0) this.#guard().forget(target);
    return lifted;
  }
}

const FLOOD_KEYS = ['autoban', 'enablefirewall', 'reenabledosblocked'] as const;

/**
 * A source over its kernel packet budget is a flood: ban it once, for reenabledosblocked,
 * unless autoban is 0 or enablefirewall is below the kernel levels (then it is only logged).
 */
export function banFloods(
  dataplane: Dataplane,
  bans: BanService,
  settings: Settings,
  log: Logger,
): void {
  const config = settings.view(FLOOD_KEYS);
  dataplane.onFlood((event) => {
    if (config.autoban === 0 || config.enablefirewall < 3) {
      log.warn(
        { ip: event.ip, packets: event.packets },
        'flood over the kernel budget (autoban off: not banned)',
      );
      return;
    }
    if (bans.get(event.ip)) return;
    bans
      .ban(event.ip, {
        ttlSeconds: config.reenabledosblocked,
        reason: 'flood: over the per-source packet budget',
        origin: 'auto',
        evidence: { counter: 'kernel per-source budget', packets: event.packets, at: event.at },
      })
      .catch((err: Error) => log.error({ ip: event.ip, err }, 'could not ban a flooding source'));
  });
}

export function createGuard(
  settings: Settings,
  bans: BanService,
  log: Logger,
  /** Billing's per-IP cost (maxcostperip); without it that limit is not checked. */
  usage?: PerIpUsage,
): { guard: Guard; portBans: PortBans } {
  const portBans = new PortBans(() => guard, log);
  const guard = new Guard({
    settings,
    log,
    ...(usage ? { usage } : {}),
    ban: (ip, ttlSeconds, reason, evidence) =>
      bans.ban(ip, { ttlSeconds, reason, origin: 'auto', evidence: { ...evidence } }),
    portBan: (ip, port, ttlSeconds, reason, evidence) => {
      const now = Date.now();
      portBans.record({
        ip,
        port,
        reason,
        evidence: { ...evidence },
        createdAt: now,
        expiresAt: now + ttlSeconds * 1000,
      });
      log.warn({ ip, port, ttl: ttlSeconds, reason }, 'address:port banned (userspace)');
    },
  });
  guard.adoptBans(bans.list());
  bans.onLifted((target) => guard.forget(target));
  return { guard, portBans };
}

/** Longest Call-ID the guard is given from a report. */
const MAX_CALL_ID = 256;

/** `text` cut to `max` characters; as is when it fits (slice() would allocate a copy). */
function cut(text: string, max: number): string {
  return text.length > max ? text.slice(0, max) : text;
}

/**
 * The guard's event for one arriving message, refilled for every message: the guard keeps
 * nothing of an event past observe(), so one object serves them all (no allocation per
 * message). The sample is read from the message's view only when the guard asks for it.
 */
class MessageEvent implements GuardEvent {
  readonly kind = 'message';
  ip = '';
  port = 0;
  method: string | undefined = undefined;
  user: string | undefined = undefined;
  userAgent: string | undefined = undefined;
  callId: string | undefined = undefined;
  #message: InboundMessage | undefined = undefined;

  fill(m: InboundMessage): this {
    this.ip = m.source.ip;
    this.port = m.source.port;
    this.method = m.method;
    this.user = m.user;
    this.userAgent = m.userAgent;
    this.callId = m.callId;
    this.#message = m;
    return this;
  }

  /** Lets go of the message once the guard has answered. */
  done(): void {
    this.#message = undefined;
  }

  get sample(): string | undefined {
    return this.#message?.sample;
  }
}

/** The guard's verdict on one incoming message: only 'pass' is processed. */
export function admitter(guard: Guard) {
  const shared = new MessageEvent();
  let busy = false;
  return (m: InboundMessage): boolean => {
    // A (never expected) re-entrant call gets its own event rather than clobbering ours.
    const event = busy ? new MessageEvent() : shared;
    const outer = !busy;
    busy = true;
    try {
      return guard.observe(event.fill(m)).action === 'pass';
    } finally {
      event.done();
      if (outer) busy = false;
    }
  };
}

/** The guard's event for one SecurityReport, refilled per report like MessageEvent. */
class ReportEvent implements GuardEvent {
  kind: GuardEventKind = 'wrong';
  ip = '';
  port = 0;
  method: string | undefined = undefined;
  user: string | undefined = undefined;
  userId: number | undefined = undefined;
  userAgent: string | undefined = undefined;
  sample: string | undefined = undefined;
  callId: string | undefined = undefined;
  durationSeconds: number | undefined = undefined;

  fill(event: SecurityReport, userId: number | undefined): this {
    this.kind = event.kind;
    this.ip = event.ip;
    this.port = event.port;
    this.method = event.method;
    this.user = event.user || undefined;
    this.userId = userId;
    this.userAgent = event.userAgent || undefined;
    this.sample = event.detail || undefined;
    this.callId = event.callId ? cut(event.callId, MAX_CALL_ID) : undefined;
    this.durationSeconds = event.durationSeconds;
    return this;
  }

  /** Drops the references to the report's strings once the guard has answered. */
  done(): void {
    this.user = undefined;
    this.userAgent = undefined;
    this.sample = undefined;
    this.callId = undefined;
  }
}

/**
 * Authentication outcomes, rejected messages and calls, reported by the SIP layer. `userIdOf`
 * gives a call's account its numeric id, which maxcallperuserid names.
 */
export function reporter(
  guard: Guard,
  log: Logger,
  userIdOf?: (name: string) => number | undefined,
) {
  // Refusals are logged, but never faster than a disk and an operator can take.
  const lines = new LogLimiter(log, { perSecond: 20, burst: 200 });
  const shared = new ReportEvent();
  let busy = false;
  return (event: SecurityReport): SecurityVerdict => {
    if (event.kind === 'auth-fail' || event.kind === 'wrong' || event.kind === 'unauthorized') {
      lines.info(
        { ip: event.ip, port: event.port, user: event.user, detail: event.detail },
        `SIP ${event.kind}`,
      );
    }
    const isCall = event.kind === 'call-start' || event.kind === 'call-end';
    const userId = isCall && event.user ? userIdOf?.(event.user) : undefined;
    const report = busy ? new ReportEvent() : shared;
    const outer = !busy;
    busy = true;
    try {
      return guard.observe(report.fill(event, userId));
    } finally {
      report.done();
      if (outer) busy = false;
    }
  };
}
