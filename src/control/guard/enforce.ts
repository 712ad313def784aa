// What a tripped rule becomes: a ban (once; the ban sinks are called, the guard's own
// userspace copy is made), or, when the source is trusted or the mode only detects, a
// detection that is logged and recorded (detections.ts) and changes nothing else.
//
// Modes: enablefirewall 1 = static rules only, the guard detects and logs but never bans;
// ≥ 2 = bans. autoban 0 = detect and log only, never ban (the stress-test profile).
import type { Logger } from '../../log.ts';
import type { GuardConfig } from './config.ts';
import type { DetectionLog } from './detections.ts';
import { GuardErrors } from './errors.ts';
import type { BanSink, GuardDecision, GuardEvent, PortBanSink } from './events.ts';
import { buildEvidence, type Trip } from './evidence.ts';
import type { UserspaceBans } from './userspace-bans.ts';

export interface EnforcerParts {
  ban: BanSink;
  portBan: PortBanSink | undefined;
  log: Logger | undefined;
  bans: UserspaceBans;
  detections: DetectionLog;
  /** Counters start from zero when a ban is lifted or expires (re-enabled). */
  forgetCounts(ip: string): void;
  forgetPortCount(key: string): void;
}

/** Why a detection did not ban, or undefined when it may ban. */
export function notBannedBecause(
  cfg: GuardConfig,
  trustedBy: string | undefined,
): string | undefined {
  if (trustedBy !== undefined) return `not banned: trusted by ${trustedBy}`;
  if (cfg.enablefirewall < 2)
    return `not banned: enablefirewall ${cfg.enablefirewall} only detects`;
  if (cfg.autoban === 0) return 'not banned: autoban 0 only detects';
  return undefined;
}

export class Enforcer {
  readonly #p: EnforcerParts;

  constructor(parts: EnforcerParts) {
    this.#p = parts;
  }

  /** A threshold tripped: ban (once), or record what would have been. */
  trip(
    cfg: GuardConfig,
    event: GuardEvent,
    now: number,
    trip: Trip,
    trustedBy: string | undefined,
  ): GuardDecision {
    const p = this.#p;
    const evidence = buildEvidence(cfg, event, now, trip);
    const because = notBannedBecause(cfg, trustedBy);
    if (because !== undefined) {
      p.detections.add(evidence, because, now);
      return { action: 'pass', rule: trip.rule, scope: trip.scope, detected: evidence };
    }
    const fields = {
      ip: event.ip,
      port: event.port,
      rule: trip.rule,
      count: trip.count,
      threshold: trip.threshold,
      ttl: evidence.ttlSeconds,
    };
    const expiresAt = now + cfg.reenableMs;
    if (trip.scope === 'ip:port') {
      p.bans.banPort(event.ip, event.port, expiresAt);
      p.forgetPortCount(`${event.ip}:${event.port}`);
      p.log?.warn(fields, 'IP:port banned (enforced in userspace)');
      this.#callSink(
        () => p.portBan?.(event.ip, event.port, evidence.ttlSeconds, evidence.reason, evidence),
        event.ip,
      );
      return { action: 'ban', rule: trip.rule, scope: 'ip:port', evidence };
    }
    p.bans.banIp(event.ip, expiresAt);
    p.forgetCounts(event.ip);
    p.log?.warn(fields, 'address banned');
    this.#callSink(() => p.ban(event.ip, evidence.ttlSeconds, evidence.reason, evidence), event.ip);
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
      this.#p.log?.error({ ip, err: error }, error.message);
    };
    try {
      const result = call();
      if (result instanceof Promise) result.catch(fail);
    } catch (err) {
      fail(err);
    }
  }
}
