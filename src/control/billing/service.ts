// Billing as the rest of tollgate uses it: the daemon plugs `calls` into the policy port
// (policy.calls) and `usage` into the guard (maxcostperip); the console and the web API call
// the methods below for accounts, top-ups, CDRs, tariffs and blacklists. Amounts go in and
// out as exact decimal text ("12.34567"); --json gives micro-units as integers beside it.
import type { Settings } from '../../config/settings.ts';
import type { Logger } from '../../log.ts';
import type { CallAccounting } from '../../policy-port.ts';
import type { BlacklistRecord, CdrRecord } from '../../store/records.ts';
import type { Store } from '../../store/store.ts';
import type { CreditLedger } from '../users.ts';
import { Blacklist } from './blacklist.ts';
import { type BadCaller, CallerStats } from './callers.ts';
import { BillingErrors } from './errors.ts';
import { cdrKey, Ledger } from './ledger.ts';
import { formatMoney, type Micros, max as maxMoneyOf, micros } from './money.ts';
import { Notifier } from './notify.ts';
import { type AccountSource, BillingPolicy } from './policy.ts';
import { TariffBook } from './tariffs.ts';

/** At most this many CDRs per query (the console and API page with --since). */
export const MAX_CDRS = 100_000;

export interface AccountSummary {
  name: string;
  type: 'enduser' | 'traffic sender' | 'SIP server';
  postpaid: boolean;
  tariff: string;
  credit: string;
  creditMicros: number;
  reserved: string;
  spentToday: string;
  spentTodayMicros: number;
  spentMonth: string;
  spentMonthMicros: number;
  speechTodaySeconds: number;
  speechMonthSeconds: number;
  linesInUse: number;
  /** The highest daily spend so far (what the dynamic daily limit multiplies). */
  highestDay: string;
  limits: Record<string, string | number>;
  lastRefusal: { rule: string; reason: string; at: string; dialled: string } | null;
}

export interface CdrQuery {
  user?: string;
  /** ms since epoch (inclusive), by end time. */
  since?: number;
  until?: number;
  limit?: number;
}

export interface BillingOptions {
  store: Store;
  settings: Settings;
  accounts: AccountSource;
  log: Logger;
  now?: () => number;
  /** autoban 2: ban a caller's address (the daemon passes the ban service). */
  banIp?: (ip: string, reason: string, evidence: Record<string, unknown>) => void;
}

const TYPES = ['enduser', 'traffic sender', 'SIP server'] as const;

export class BillingService implements CreditLedger {
  readonly tariffs: TariffBook;
  readonly ledger: Ledger;
  readonly blacklist: Blacklist;
  readonly callers = new CallerStats();
  readonly notifier: Notifier;
  readonly policy: BillingPolicy;
  readonly #store: Store;
  readonly #log: Logger;

  constructor(options: BillingOptions) {
    const { store, settings, log } = options;
    this.#store = store;
    this.#log = log;
    this.tariffs = new TariffBook(store);
    this.ledger = new Ledger(store, log, options.now);
    this.blacklist = new Blacklist(store, log);
    this.notifier = new Notifier(settings, log, options.now);
    this.policy = new BillingPolicy({
      settings,
      accounts: options.accounts,
      tariffs: this.tariffs,
      ledger: this.ledger,
      blacklist: this.blacklist,
      callers: this.callers,
      log,
      hooks: {
        refused: (r) => this.notifier.refused(r),
        badCaller: (bad: BadCaller, ip, autoban) => {
          const what = bad.caller.startsWith('ip:') ? `address ${ip}` : `account ${bad.caller}`;
          this.notifier.systemEvent(
            `caller ${bad.caller} rejected (autoban)`,
            `${what}: ${bad.calls} calls in ${bad.windowSeconds}s, ${bad.answered} answered: its calls are refused for an hour${autoban >= 2 && ip ? ' and its address is banned' : ''}.`,
          );
          if (autoban >= 2 && ip)
            options.banIp?.(ip, 'autoban: bad call statistics', { rule: 'autoban', ...bad });
        },
        smartBlacklisted: (number, reason) =>
          this.notifier.systemEvent(`number ${number} blacklisted`, reason),
      },
    });
  }

  /** The policy port's calls contract (policy.calls in the daemon). */
  get calls(): CallAccounting {
    return this.policy;
  }

  /** The guard's maxcostperip hook: cost of calls from an address in its current window. */
  get usage(): { costMicros(ip: string, sinceMs: number): number } {
    return { costMicros: (ip) => this.ledger.ipCost(ip) };
  }

  // ── CreditLedger (users set NAME credit X) ───────────────────────────────────────────

  setCredit(name: string, text: string): void {
    const credit = this.ledger.setCredit(name, text);
    this.#log.info({ user: name, credit: formatMoney(credit) }, 'credit set');
  }

  creditOf(name: string): string | undefined {
    return this.ledger.hasBalance(name) ? formatMoney(this.ledger.credit(name)) : undefined;
  }

  forget(name: string): void {
    this.ledger.forget(name);
  }

  // ── accounts ───────────────────────────────────────────────────────────────────────

  /** Adds `amount` (exact decimal text) to a user's credit; returns the new credit. */
  topUp(name: string, amount: string): { user: string; credit: string; creditMicros: number } {
    if (!this.policy.profile(name))
      throw new BillingErrors.TG_BILLING_NO_ACCOUNT(name.slice(0, 64));
    const credit = this.ledger.topUp(name, amount);
    this.#log.info({ user: name, amount, credit: formatMoney(credit) }, 'credit topped up');
    return { user: name, credit: formatMoney(credit), creditMicros: credit };
  }

  account(name: string, now = Date.now()): AccountSummary {
    const p = this.policy.profile(name);
    if (!p) throw new BillingErrors.TG_BILLING_NO_ACCOUNT(name.slice(0, 64));
    const b = this.ledger.balance(name, now, p.maxmonthlycreditinc);
    const limits: Record<string, string | number> = {
      maxlines: p.maxlines,
      maxlinesoffpeak: p.maxlinesoffpeak,
    };
    const money = (m: Micros) => formatMoney(m);
    const monthly = this.policy.monthlyLimit(p, micros(b.monthlyRaiseMicros));
    if (monthly > 0) limits.maxmonthlycredit = money(monthly);
    const daily = this.policy.dailyLimit(p);
    if (daily) limits[daily.rule] = money(daily.limit);
    const dyn = this.policy.dynamicLimit(p, micros(b.maxDailyMicros));
    if (dyn > 0) limits.dynamicdaily = money(dyn);
    if (p.maxslperday > 0) limits.maxslperday = p.maxslperday;
    if (p.maxslpermonth > 0) limits.maxslpermonth = p.maxslpermonth;
    return {
      name,
      type: TYPES[p.type],
      postpaid: p.postpaid,
      tariff: p.tariff || 'default',
      credit: money(micros(b.creditMicros)),
      creditMicros: b.creditMicros,
      reserved: money(this.policy.reservedCredit(name)),
      spentToday: money(micros(b.spentDayMicros)),
      spentTodayMicros: b.spentDayMicros,
      spentMonth: money(micros(b.spentMonthMicros)),
      spentMonthMicros: b.spentMonthMicros,
      speechTodaySeconds: b.speechDaySeconds,
      speechMonthSeconds: b.speechMonthSeconds,
      linesInUse: this.policy.linesInUse(name),
      highestDay: money(maxMoneyOf(micros(b.maxDailyMicros), p.maxdyndailycredit)),
      limits,
      lastRefusal: b.lastRefusal
        ? { ...b.lastRefusal, at: new Date(b.lastRefusal.at).toISOString() }
        : null,
    };
  }

  // ── CDRs ───────────────────────────────────────────────────────────────────────────

  /** CDRs by end time (oldest first), of one account or all; at most `limit` (≤ MAX_CDRS). */
  cdrs(query: CdrQuery = {}): CdrRecord[] {
    // What ended calls queued this tick is written first, so a query sees every call.
    this.ledger.flushSync();
    const limit = Math.min(query.limit ?? MAX_CDRS, MAX_CDRS);
    const since = query.since ?? 0;
    const until = query.until ?? Number.MAX_SAFE_INTEGER;
    const out: CdrRecord[] = [];
    const table = this.#store.tables.cdrs;
    if (query.user !== undefined) {
      const range = table.getRange({
        start: cdrKey(query.user, since, ''),
        end: `${query.user}\u0001`,
      });
      for (const { value } of range) {
        if (value.endedAt > until) break;
        out.push(value);
        if (out.length >= limit) break;
      }
      return out;
    }
    for (const { value } of table.getRange()) {
      if (value.endedAt < since || value.endedAt > until) continue;
      out.push(value);
      if (out.length >= limit) break;
    }
    return out.sort((a, b) => a.endedAt - b.endedAt);
  }

  cdrCount(): number {
    return this.#store.tables.cdrs.getCount();
  }

  // ── blacklist ──────────────────────────────────────────────────────────────────────

  blacklistAdd(entry: string, ttlSeconds: number, reason: string): BlacklistRecord {
    try {
      return this.blacklist.add(entry, ttlSeconds, reason);
    } catch (err) {
      throw new BillingErrors.TG_BILLING_BAD_NUMBER((err as Error).message);
    }
  }

  /** Everything queued on disk, then the mail transport closed. */
  async close(): Promise<void> {
    await this.ledger.flush();
    await this.notifier.drain();
    this.notifier.close();
  }
}

/** "2026-12-06", "2026-12-06T08:00Z" or "30m"/"24h"/"7d" back from now, as ms since epoch. */
export function parseSince(text: string, what = 'since', now = Date.now()): number {
  const m = /^(\d{1,6})([smhdw])$/.exec(text.trim());
  if (m) {
    const unit = { s: 1e3, m: 6e4, h: 36e5, d: 864e5, w: 6048e5 }[m[2] as 's'];
    return now - Number(m[1]) * unit;
  }
  if (/^\d{4}-\d{2}-\d{2}([T ][\d:.]+(Z|[+-]\d{2}:?\d{2})?)?$/.test(text.trim())) {
    const ms = Date.parse(text.trim());
    if (Number.isFinite(ms)) return ms;
  }
  throw new BillingErrors.TG_BILLING_BAD_TIME(what, text.slice(0, 40));
}
