// The table's `user-agent` rows (rules.ts): one message decides. A User-Agent on the blockua
// list bans its source (a trusted source's message is refused and recorded instead; in a
// detect-only mode it is refused and the detection recorded once per address per
// reenabledosblocked); with an allowua list, a message whose User-Agent is not on it is
// dropped and recorded.
import type { GuardConfig } from './config.ts';
import { WindowedCounters } from './counters.ts';
import type { DetectionLog } from './detections.ts';
import type { Enforcer } from './enforce.ts';
import type { GuardDecision, GuardEvent } from './events.ts';
import { buildEvidence, type Trip } from './evidence.ts';

const DROP_ALLOWUA: GuardDecision = Object.freeze({ action: 'drop', rule: 'allowua' });
const DROP_BLOCKUA: GuardDecision = Object.freeze({ action: 'drop', rule: 'blockua' });

function singleMessage(rule: string, now: number): Trip {
  return {
    rule,
    scope: 'ip',
    count: 1,
    threshold: 1,
    windowMs: 0,
    windowStart: now,
    first: undefined,
  };
}

export class UserAgentRules {
  /** Detect-only modes: addresses whose blockua detection was already made this window. */
  readonly hits: WindowedCounters<string>;
  readonly #detections: DetectionLog;
  readonly #enforcer: Enforcer;

  constructor(cfg: GuardConfig, capacity: number, detections: DetectionLog, enforcer: Enforcer) {
    this.hits = new WindowedCounters<string>({ periodMs: cfg.reenableMs, capacity });
    this.#detections = detections;
    this.#enforcer = enforcer;
  }

  reconfigure(cfg: GuardConfig): void {
    this.hits.periodMs = cfg.reenableMs;
  }

  /** The decision when the User-Agent decides, else undefined (the other rules go on). */
  decide(
    cfg: GuardConfig,
    event: GuardEvent,
    now: number,
    trustedBy: string | undefined,
  ): GuardDecision | undefined {
    const ua = event.userAgent;
    if (ua !== undefined && !cfg.blockuaList.empty && cfg.blockuaList.matches(ua))
      return this.#blockua(cfg, event, now, trustedBy);
    if (
      event.kind === 'message' &&
      !cfg.allowuaList.empty &&
      (ua === undefined || !cfg.allowuaList.matches(ua))
    ) {
      this.#recordOnce(
        cfg,
        event,
        now,
        'allowua',
        'dropped, not banned: User-Agent not on allowua',
      );
      return DROP_ALLOWUA;
    }
    return undefined;
  }

  #blockua(
    cfg: GuardConfig,
    event: GuardEvent,
    now: number,
    trustedBy: string | undefined,
  ): GuardDecision {
    if (trustedBy !== undefined) {
      this.#recordOnce(cfg, event, now, 'blockua', `not banned: trusted by ${trustedBy}`);
      return DROP_BLOCKUA;
    }
    const detectOnly = cfg.enablefirewall < 2 || cfg.autoban === 0;
    if (detectOnly && this.hits.add(event.ip, now) !== 1) {
      this.#detections.touch(event.ip, 'blockua', now);
      return DROP_BLOCKUA;
    }
    const d = this.#enforcer.trip(cfg, event, now, singleMessage('blockua', now), undefined);
    return detectOnly ? { ...d, action: 'drop' } : d;
  }

  /** Recorded the first time for the address, counted after that (no evidence per message). */
  #recordOnce(cfg: GuardConfig, event: GuardEvent, now: number, rule: string, outcome: string) {
    if (this.#detections.touch(event.ip, rule, now)) return;
    this.#detections.add(buildEvidence(cfg, event, now, singleMessage(rule, now)), outcome, now);
  }
}
