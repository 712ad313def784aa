// The table's `calls` rows (rules.ts): per-IP call allowances over maxcallperperiod days.
// They are account limits, not attack detection: they apply in every firewall mode, and the
// call beyond the allowance is refused (guard.ts decides whether autoban 2 also bans).
// maxcallperuserid names the one account they apply to (-1: every account).
import type { GuardConfig } from './config.ts';
import { WindowedCounters } from './counters.ts';
import type { GuardEvent, PerIpUsage } from './events.ts';

/** A call over an allowance: what guard.ts turns into a refusal (and maybe a ban). */
export interface CallRefusal {
  rule: 'maxcallperip' | 'maxdurationperip' | 'maxcostperip';
  count: number;
  threshold: number;
  windowStart: number;
}

export class CallLimits {
  readonly #calls: WindowedCounters<string>;
  readonly #seconds: WindowedCounters<string>;
  readonly #usage: PerIpUsage | undefined;

  constructor(cfg: GuardConfig, capacity: number, usage: PerIpUsage | undefined) {
    const periodMs = cfg.callPeriodMs;
    this.#calls = new WindowedCounters<string>({ periodMs, capacity });
    this.#seconds = new WindowedCounters<string>({ periodMs, capacity });
    this.#usage = usage;
  }

  reconfigure(cfg: GuardConfig): void {
    this.#calls.periodMs = cfg.callPeriodMs;
    this.#seconds.periodMs = cfg.callPeriodMs;
  }

  /** call-end: the call's seconds count for maxdurationperip. */
  ended(event: GuardEvent, now: number, cfg: GuardConfig): void {
    const seconds = event.durationSeconds;
    if (cfg.maxdurationperip > 0 && seconds !== undefined && seconds > 0 && applies(cfg, event))
      this.#seconds.add(event.ip, now, seconds);
  }

  /** call-start: the allowance it exceeds, or undefined. */
  started(event: GuardEvent, now: number, cfg: GuardConfig): CallRefusal | undefined {
    if (!applies(cfg, event)) return undefined;
    const ip = event.ip;
    if (cfg.maxcallperip > 0) {
      const count = this.#calls.add(ip, now);
      if (count > cfg.maxcallperip)
        return this.#refusal('maxcallperip', count, cfg.maxcallperip, this.#calls, ip, now);
    }
    if (cfg.maxdurationperip > 0) {
      const seconds = this.#seconds.get(ip, now);
      if (seconds >= cfg.maxdurationperip)
        return this.#refusal(
          'maxdurationperip',
          seconds,
          cfg.maxdurationperip,
          this.#seconds,
          ip,
          now,
        );
    }
    if (cfg.maxcostperipMicros > 0 && this.#usage !== undefined) {
      const since = this.#calls.windowStart(ip, now) ?? now - cfg.callPeriodMs;
      const cost = this.#usage.costMicros(ip, since);
      if (cost >= cfg.maxcostperipMicros)
        return this.#refusal('maxcostperip', cost, cfg.maxcostperipMicros, this.#calls, ip, now);
    }
    return undefined;
  }

  #refusal(
    rule: CallRefusal['rule'],
    count: number,
    threshold: number,
    table: WindowedCounters<string>,
    ip: string,
    now: number,
  ): CallRefusal {
    return { rule, count, threshold, windowStart: table.windowStart(ip, now) ?? now };
  }

  delete(ip: string): void {
    this.#calls.delete(ip);
    this.#seconds.delete(ip);
  }

  clear(): void {
    this.#calls.clear();
    this.#seconds.clear();
  }

  tables(): readonly WindowedCounters<string>[] {
    return [this.#calls, this.#seconds];
  }
}

function applies(cfg: GuardConfig, event: GuardEvent): boolean {
  const only = cfg.maxcallperuserid;
  return only === -1 || event.userId === only;
}
