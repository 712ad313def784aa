// Call admission by money and fraud rules: the CallAccounting of the policy port.
//
// authorize() walks the rules below in order; the first that refuses answers (status, reason
// phrase, and the rule: the config key or per-user field behind it). An allowed call gets the
// longest it may last: for a prepaid account, what its credit buys under its tariff (never
// more than absolutetimeout), and that much is reserved, so many calls at once on one
// account can never spend more than its credit. ended() settles: the charge (at most what
// was reserved), the CDR and the counters go to the ledger together.
//
//   rule                        refuses when                                   status
//   autoban                     the caller's statistics were bad (callers.ts)   403
//   blacklist                   the number is blacklisted (blacklist.ts)        403
//   onlylocalaccess             the account calls out through a trunk           403
//   blocksatellitecalls         a satellite number (numbers.ts)                 403
//   blockpremiumnumbers         a premium-rate / shared-cost number             403
//   maxlines / maxlinesoffpeak  as many calls as lines are up (off-peak: offpeakhours)  486
//   maxslperday / maxslpermonth speech today/this month at the limit (calcmaxsl)  quotadiscreason
//   blocknotbilledcalls         no rate as strict as the level asks             403
//   blockhighcostcalls          the rate's price per minute above the key       403
//   blocknotprofitablecalls     the carrier's rate ≥ the account's price        403
//   maxmonthlycredit            month's spend at the limit (prepaid; postpaid
//                               with creditcheckforpostp), raised by
//                               maxmonthlycreditinc per active month up to
//                               maxmonthlycreditend                            quotadiscreason
//   maxdailycreditforenduser / maxdailycreditforts / maxdailycredit (maxdailycreditperuser)
//                               today's spend at the limit                     quotadiscreason
//   checkmaxdyndailycredit      today's spend at max(min, highest day × multiplier)  quotadiscreason
//   credit                      a prepaid account cannot pay the first increment  402
//
// Limits on spend and speech judge the next call only: a call already running is never cut
// by them (the reference: "the next call will be blocked"); only prepaid credit cuts, through
// the maximum duration. Local calls (to a user of this server) are on-net and free; rating
// and the billing rules apply to calls routed out through a trunk.
//
// blocknotbilledcalls levels, each stricter than the one before:
//   1 a rate must be found (the account's tariff, its parents, or the `default` tariff)
//   2 … by a real prefix, not the catch-all '' entry
//   3 … and the account must have a tariff of its own (not only `default`)
//   4 … and the rate must be in that tariff itself, not inherited from a parent
//   5 … and the parent tariff (when there is one) must have a rate for the number too
// vgetpriceexactmatch: 1 = traffic senders (resellers) are rated only by an exact match, 2 = all.
// The carrier's cost (blocknotprofitablecalls) is the trunk's tariff: the `tariff` field of
// the SIP server account named like the trunk, else a tariff named like the trunk.
import type { ConfigView, Settings } from '../../config/settings.ts';
import type { Logger } from '../../log.ts';
import type { CallAccounting, CallDecision, CallEnded, CallRequest } from '../../policy-port.ts';
import type { CdrRecord } from '../../store/records.ts';
import { licenseLimit } from '../users.ts';
import {
  type AccountProfile,
  ENDUSER,
  profileFrom,
  SIP_SERVER,
  TRAFFIC_SENDER,
} from './accounts.ts';
import type { Blacklist } from './blacklist.ts';
import type { BadCaller, CallerStats } from './callers.ts';
import type { Ledger } from './ledger.ts';
import {
  add,
  fromConfig,
  type Micros,
  max as maxMoney,
  micros,
  min as minMoney,
  mulDivCeil,
  sub,
  ZERO,
} from './money.ts';
import { numberClass } from './numbers.ts';
import { isOffPeak, parseSchedule, type Schedule } from './offpeak.ts';
import { affordableSeconds, callCost } from './rating.ts';
import { DEFAULT_TARIFF, type RateMatch, type TariffBook } from './tariffs.ts';

export const BILLING_KEYS = [
  'creditcheckforpostp',
  'maxdailycreditforenduser',
  'maxdailycreditforts',
  'maxdailycreditperuser',
  'checkmaxdyndailycredit',
  'maxdyndailycreditforenduser_min',
  'maxdynmaxdailycreditforts_min',
  'maxdyndailycredit_multiplier',
  'quotadiscreason',
  'calcmaxsl',
  'blocksatellitecalls',
  'blockpremiumnumbers',
  'blocknotbilledcalls',
  'blocknotprofitablecalls',
  'vgetpriceexactmatch',
  'notbilledcallerr',
  'blockhighcostcalls',
  'maxcallperperiod',
  'absolutetimeout',
  'offpeakhours',
  'smartblacklist',
  'autoban',
  'licensecfg',
] as const;
type BillingConfig = ConfigView<(typeof BILLING_KEYS)[number]>;

/** Live calls remembered between authorize and ended; past this, the oldest are dropped. */
const MAX_CALLS = 1_000_000;
const UNBILLED_LINES = 20;

/** Where accounts come from (UserService satisfies it). */
export interface AccountSource {
  fieldsOf(name: string): Record<string, import('../../config/schema.ts').ConfigValue> | undefined;
  onChange(listener: (name: string) => void): void;
  /** Every account's fields, for the automatic switches (calcmaxsl -1, maxdailycreditperuser). */
  list(): Array<{ name: string; fields: Record<string, unknown> }>;
}

/** A refusal as the notifier sees it. */
export interface Refusal {
  account: string | undefined;
  rule: string;
  status: number;
  reason: string;
  call: CallRequest;
  detail?: string;
}

export interface PolicyHooks {
  /** Every refusal (logged, counted, maybe mailed: notify.ts). */
  refused?(refusal: Refusal): void;
  /** A caller whose statistics went bad (autoban ≥ 1); with autoban 2 its address is banned. */
  badCaller?(bad: BadCaller, ip: string | undefined, autoban: number): void;
  /** A number the smart blacklist added. */
  smartBlacklisted?(number: string, reason: string): void;
}

interface Derived {
  dailyEnduser: Micros;
  dailyTs: Micros;
  dynMinEnduser: Micros;
  dynMinTs: Micros;
  multiplierMilli: number;
  blockHigh: Micros;
  schedule: Schedule;
  ipPeriodMs: number;
  maxCalls: number | undefined;
}

interface CallState {
  readonly account: string | undefined;
  readonly allowed: boolean;
  readonly rule: string | undefined;
  readonly rate: RateMatch | undefined;
  readonly carrier: RateMatch | undefined;
  readonly prepaid: boolean;
  /** Credit held for this call (prepaid). */
  readonly reserved: Micros;
  readonly maxSeconds: number | undefined;
  readonly line: boolean;
  readonly at: number;
}

type Deny = { allow: false; status: number; reason: string; rule: string; detail?: string };

export class BillingPolicy implements CallAccounting {
  readonly #config: BillingConfig;
  readonly #accounts: AccountSource;
  readonly #tariffs: TariffBook;
  readonly #ledger: Ledger;
  readonly #blacklist: Blacklist;
  readonly #callers: CallerStats;
  readonly #log: Logger;
  readonly #hooks: PolicyHooks;
  readonly #settings: Settings;
  readonly #profiles = new Map<string, AccountProfile | null>();
  readonly #calls = new Map<string, CallState>();
  readonly #lines = new Map<string, number>();
  readonly #reserved = new Map<string, Micros>();
  /** Calls allowed and not ended (licensecfg maxcalls). */
  #allowedLive = 0;
  /** Unbilled-call log lines: at most UNBILLED_LINES per 10 s (an attack must not flood the log). */
  #unbilledWindow = 0;
  #unbilledLines = 0;
  #derived: Derived | undefined;
  /** Accounts with maxslperday/maxslpermonth set (calcmaxsl -1 turns on when any has). */
  readonly #speechLimited = new Set<string>();

  constructor(options: {
    settings: Settings;
    accounts: AccountSource;
    tariffs: TariffBook;
    ledger: Ledger;
    blacklist: Blacklist;
    callers: CallerStats;
    log: Logger;
    hooks?: PolicyHooks;
  }) {
    this.#settings = options.settings;
    this.#config = options.settings.view(BILLING_KEYS);
    this.#accounts = options.accounts;
    this.#tariffs = options.tariffs;
    this.#ledger = options.ledger;
    this.#blacklist = options.blacklist;
    this.#callers = options.callers;
    this.#log = options.log;
    this.#hooks = options.hooks ?? {};
    options.settings.onChange(() => {
      this.#derived = undefined;
    });
    this.#accounts.onChange((name) => this.#accountChanged(name));
    for (const { name, fields } of this.#accounts.list()) this.#noteFields(name, fields);
  }

  // ── the contract ─────────────────────────────────────────────────────────────────────

  authorize(call: CallRequest): CallDecision {
    const state = this.#decide(call);
    this.#remember(call.callId, state.state);
    if (state.decision.allow) return state.decision;
    const d = state.decision as Deny;
    if (call.account !== undefined && this.#profile(call.account))
      this.#ledger.refused(call.account, {
        rule: d.rule,
        reason: d.reason,
        at: call.at,
        dialled: call.dialled.slice(0, 64),
      });
    this.#hooks.refused?.({
      account: call.account,
      rule: d.rule,
      status: d.status,
      reason: d.reason,
      call,
      ...(d.detail ? { detail: d.detail } : {}),
    });
    return { allow: false, status: d.status, reason: d.reason, rule: d.rule };
  }

  answered(callId: string, _at: number): { readonly maxDurationSeconds: number | undefined } {
    return { maxDurationSeconds: this.#calls.get(callId)?.maxSeconds };
  }

  ended(call: CallEnded): void {
    const state = this.#calls.get(call.callId);
    this.#calls.delete(call.callId);
    if (state) this.#release(state);
    const answered = call.answeredAt !== undefined;
    const account = call.account ?? '';
    const profile = account ? this.#profile(account) : undefined;
    let seconds = Math.max(0, Math.ceil(call.durationSeconds));
    if (state?.maxSeconds !== undefined) seconds = Math.min(seconds, state.maxSeconds);
    const rate = state
      ? state.rate
      : call.destination === 'trunk' && profile
        ? this.#rate(profile, call.dialled).match
        : undefined;
    let cost = rate && answered ? callCost(rate.rate, seconds) : ZERO;
    if (state?.prepaid) cost = minMoney(cost, state.reserved);
    else if (!state && profile && !profile.postpaid)
      cost = minMoney(cost, maxMoney(ZERO, this.#ledger.credit(account)));
    const carrier =
      state?.carrier ?? (call.trunk ? this.#carrierRate(call.trunk, call.dialled) : undefined);
    const refused = state !== undefined && !state.allowed;
    const speech = answered ? seconds : 0;
    const cdr: CdrRecord = {
      callId: call.callId.slice(0, 256),
      account,
      ...(call.accountKind ? { accountKind: call.accountKind } : {}),
      ...(call.callerId ? { callerId: call.callerId.slice(0, 64) } : {}),
      dialled: call.dialled.slice(0, 64),
      destination: call.destination,
      ...(call.route ? { route: call.route } : {}),
      ...(call.trunk ? { trunk: call.trunk } : {}),
      sourceIp: call.source.ip,
      startedAt: call.startedAt,
      ...(call.answeredAt !== undefined ? { answeredAt: call.answeredAt } : {}),
      endedAt: call.endedAt,
      durationSeconds: call.durationSeconds,
      billedSeconds: rate && answered ? billed(rate, seconds) : 0,
      status: call.status,
      disconnectSide: call.disconnectSide,
      reason: refused ? (state.rule ?? call.reason) : call.reason,
      refused,
      costMicros: cost,
      ...(carrier && answered ? { carrierCostMicros: callCost(carrier.rate, seconds) } : {}),
      ...(rate ? { tariff: rate.tariff, prefix: rate.rate.prefix } : {}),
    };
    const trunkProfile = call.trunk ? this.#profile(call.trunk) : undefined;
    this.#ledger.record(cdr, {
      cost,
      callerSpeech: profile && profile.type !== SIP_SERVER ? speech : 0,
      ...(trunkProfile && speech > 0
        ? { trunkAccount: trunkProfile.name, trunkSpeech: speech }
        : {}),
      monthlyIncrement: profile?.maxmonthlycreditinc ?? ZERO,
    });
    if (!refused) this.#learn(call, answered);
  }

  trunkUsable(trunk: string, at: number): boolean {
    const p = this.#profile(trunk);
    if (!p || !this.#speechEnabled()) return true;
    if (p.maxslperday === 0 && p.maxslpermonth === 0) return true;
    const b = this.#ledger.balance(trunk, at);
    if (p.maxslperday > 0 && b.speechDaySeconds >= p.maxslperday) return false;
    if (p.maxslpermonth > 0 && b.speechMonthSeconds >= p.maxslpermonth) return false;
    return true;
  }

  // ── for the services (console, web) ───────────────────────────────────────────────────

  /** Calls authorized and not ended yet. */
  get liveCalls(): number {
    return this.#calls.size;
  }

  linesInUse(account: string): number {
    return this.#lines.get(account) ?? 0;
  }

  reservedCredit(account: string): Micros {
    return this.#reserved.get(account) ?? ZERO;
  }

  profile(account: string): AccountProfile | undefined {
    return this.#profile(account);
  }

  /** The effective monthly limit (maxmonthlycredit raised so far, capped), 0 = none. */
  monthlyLimit(p: AccountProfile, raise: Micros): Micros {
    if (p.maxmonthlycredit === 0) return ZERO;
    const raised = add(p.maxmonthlycredit, raise);
    return p.maxmonthlycreditend > 0
      ? minMoney(raised, maxMoney(p.maxmonthlycredit, p.maxmonthlycreditend))
      : raised;
  }

  /** The dynamic daily limit in force for an account today (0 = the rule does not apply). */
  dynamicLimit(p: AccountProfile, maxDaily: Micros): Micros {
    const level = this.#config.checkmaxdyndailycredit;
    const d = this.#d();
    if (level === 0 || p.type === SIP_SERVER || (p.type === TRAFFIC_SENDER && level < 2))
      return ZERO;
    const base = maxMoney(maxDaily, p.maxdyndailycredit);
    const floor = p.type === ENDUSER ? d.dynMinEnduser : d.dynMinTs;
    return maxMoney(floor, mulDivCeil(base, d.multiplierMilli, 1000));
  }

  /** The fixed daily limit in force for an account (0 = none): the lowest that applies. */
  dailyLimit(p: AccountProfile): { limit: Micros; rule: string } | undefined {
    const d = this.#d();
    const out: Array<{ limit: Micros; rule: string }> = [];
    if (p.type === ENDUSER && d.dailyEnduser > 0)
      out.push({ limit: d.dailyEnduser, rule: 'maxdailycreditforenduser' });
    if (p.type === TRAFFIC_SENDER && d.dailyTs > 0)
      out.push({ limit: d.dailyTs, rule: 'maxdailycreditforts' });
    if (this.#config.maxdailycreditperuser && p.maxdailycredit > 0)
      out.push({ limit: p.maxdailycredit, rule: 'maxdailycredit' });
    out.sort((a, b) => a.limit - b.limit);
    return out[0];
  }

  // ── the rules ─────────────────────────────────────────────────────────────────────────

  #decide(call: CallRequest): { decision: CallDecision | Deny; state: CallState } {
    const cfg = this.#config;
    const account = call.account;
    const profile = account !== undefined ? this.#profile(account) : undefined;
    const deny = (status: number, reason: string, rule: string, detail?: string) => ({
      decision: { allow: false as const, status, reason, rule, ...(detail ? { detail } : {}) },
      state: this.#state(account, false, rule),
    });
    const quota = (reason: string, rule: string, detail?: string) =>
      deny(cfg.quotadiscreason, reason, rule, detail);

    // licensecfg maxcalls: a system-wide ceiling on calls at once.
    const maxCalls = this.#d().maxCalls;
    if (maxCalls !== undefined && this.#allowedLive >= maxCalls)
      return deny(
        503,
        'Service Unavailable (licensecfg maxcalls)',
        'licensecfg',
        `${maxCalls} calls`,
      );
    const bad = this.#callers.blocked([account, `ip:${call.source.ip}`], call.at);
    if (bad && cfg.autoban > 0)
      return deny(
        403,
        'Forbidden (caller blocked: bad call statistics)',
        'autoban',
        `${bad.calls} calls, ${bad.answered} answered`,
      );
    const blocked = this.#blacklist.check(call.dialled, call.at);
    if (blocked)
      return deny(
        403,
        'Forbidden (number blacklisted)',
        'blacklist',
        `${blocked.kind} ${blocked.entry}: ${blocked.reason}`,
      );
    const out = call.destination === 'trunk';
    if (out && profile?.onlylocalaccess)
      return deny(403, 'Forbidden (local calls only)', 'onlylocalaccess');
    if (out && (cfg.blocksatellitecalls || cfg.blockpremiumnumbers)) {
      const cls = numberClass(call.dialled);
      if (cls === 'satellite' && cfg.blocksatellitecalls)
        return deny(403, 'Forbidden (satellite number)', 'blocksatellitecalls');
      if (cls === 'premium' && cfg.blockpremiumnumbers)
        return deny(403, 'Forbidden (premium rate number)', 'blockpremiumnumbers');
    }
    if (!profile || account === undefined) {
      // Nobody to bill (an inbound call from an unrecognised peer, admitted by routing).
      return {
        decision: { allow: true, maxDurationSeconds: undefined },
        state: this.#state(account, true, undefined),
      };
    }

    const offPeak = isOffPeak(this.#d().schedule, call.at);
    const lines = offPeak ? profile.maxlinesoffpeak : profile.maxlines;
    if (this.linesInUse(account) >= lines)
      return deny(
        486,
        'Busy Here (all lines in use)',
        offPeak ? 'maxlinesoffpeak' : 'maxlines',
        `${lines} lines`,
      );

    const balance = this.#ledger.balance(account, call.at, profile.maxmonthlycreditinc);
    if (profile.type !== SIP_SERVER && this.#speechEnabled()) {
      if (profile.maxslperday > 0 && balance.speechDaySeconds >= profile.maxslperday)
        return quota(
          'Daily speech time used up',
          'maxslperday',
          `${balance.speechDaySeconds}/${profile.maxslperday}s`,
        );
      if (profile.maxslpermonth > 0 && balance.speechMonthSeconds >= profile.maxslpermonth)
        return quota(
          'Monthly speech time used up',
          'maxslpermonth',
          `${balance.speechMonthSeconds}/${profile.maxslpermonth}s`,
        );
    }

    let rate: RateMatch | undefined;
    let carrier: RateMatch | undefined;
    if (out) {
      const found = this.#rate(profile, call.dialled);
      rate = found.match;
      const unbilled = this.#unbilled(profile, found, call.dialled);
      if (unbilled) {
        this.#logUnbilled(call, unbilled);
        if (cfg.blocknotbilledcalls > 0)
          return deny(403, 'Forbidden (call cannot be billed)', 'blocknotbilledcalls', unbilled);
      }
      const high = this.#d().blockHigh;
      if (rate && high > 0 && rate.rate.pricePerMinute > high)
        return deny(
          403,
          'Forbidden (destination too expensive)',
          'blockhighcostcalls',
          `${rate.rate.pricePerMinute} µ/min`,
        );
      carrier = call.trunk ? this.#carrierRate(call.trunk, call.dialled) : undefined;
      const level = cfg.blocknotprofitablecalls;
      if (level > 0) {
        if (rate && carrier) {
          const price = rate.rate.pricePerMinute;
          const cost = carrier.rate.pricePerMinute;
          if (cost > price || (level >= 2 && cost === price))
            return deny(
              403,
              'Forbidden (call not profitable)',
              'blocknotprofitablecalls',
              `price ${price} µ/min, carrier ${cost} µ/min`,
            );
        } else if (level >= 3) {
          return deny(
            403,
            'Forbidden (call not profitable: no price or cost)',
            'blocknotprofitablecalls',
          );
        }
      }
    }

    if (!profile.postpaid || cfg.creditcheckforpostp) {
      const limit = this.monthlyLimit(profile, micros(balance.monthlyRaiseMicros));
      if (limit > 0 && balance.spentMonthMicros >= limit)
        return quota(
          'Monthly credit limit reached',
          'maxmonthlycredit',
          `${balance.spentMonthMicros}/${limit} µ`,
        );
    }
    const daily = this.dailyLimit(profile);
    if (daily && balance.spentDayMicros >= daily.limit)
      return quota(
        'Daily credit limit reached',
        daily.rule,
        `${balance.spentDayMicros}/${daily.limit} µ`,
      );
    const dyn = this.dynamicLimit(profile, micros(balance.maxDailyMicros));
    if (dyn > 0 && balance.spentDayMicros >= dyn)
      return quota(
        'Daily spend grew too fast',
        'checkmaxdyndailycredit',
        `${balance.spentDayMicros}/${dyn} µ`,
      );

    // Prepaid: the credit not held by other calls, what it buys, reserved for this call.
    let maxSeconds: number | undefined;
    let limitRule: string | undefined;
    let reserved = ZERO;
    if (!profile.postpaid && rate) {
      const available = sub(micros(balance.creditMicros), this.reservedCredit(account));
      const affordable = available > 0 ? affordableSeconds(rate.rate, available) : 0;
      if (affordable === 0)
        return deny(402, 'Payment Required (no credit)', 'credit', `available ${available} µ`);
      if (affordable !== undefined) {
        maxSeconds = Math.min(affordable, cfg.absolutetimeout);
        // The rule the proxy names when this maximum ends the call (BYE Reason, the CDR).
        limitRule = affordable <= cfg.absolutetimeout ? 'credit' : 'absolutetimeout';
        reserved = callCost(rate.rate, maxSeconds);
      }
    }
    const state: CallState = {
      account,
      allowed: true,
      rule: undefined,
      rate,
      carrier,
      prepaid: !profile.postpaid && reserved > 0,
      reserved,
      maxSeconds,
      line: true,
      at: call.at,
    };
    this.#lines.set(account, this.linesInUse(account) + 1);
    if (reserved > 0) this.#reserved.set(account, add(this.reservedCredit(account), reserved));
    return {
      decision: {
        allow: true,
        maxDurationSeconds: maxSeconds,
        ...(limitRule ? { rule: limitRule } : {}),
      },
      state,
    };
  }

  #state(account: string | undefined, allowed: boolean, rule: string | undefined): CallState {
    return {
      account,
      allowed,
      rule,
      rate: undefined,
      carrier: undefined,
      prepaid: false,
      reserved: ZERO,
      maxSeconds: undefined,
      line: false,
      at: 0,
    };
  }

  #remember(callId: string, state: CallState): void {
    const previous = this.#calls.get(callId);
    if (previous) this.#release(previous);
    this.#calls.set(callId, state);
    if (state.allowed) this.#allowedLive++;
    if (this.#calls.size > MAX_CALLS) {
      const [oldestId, oldest] = this.#calls.entries().next().value!;
      this.#calls.delete(oldestId);
      this.#release(oldest);
      this.#log.warn(
        { callId: oldestId },
        'billing: a call never ended was forgotten (table full)',
      );
    }
  }

  #release(state: CallState): void {
    if (state.allowed) this.#allowedLive--;
    const account = state.account;
    if (account === undefined) return;
    if (state.line) {
      const n = (this.#lines.get(account) ?? 1) - 1;
      if (n <= 0) this.#lines.delete(account);
      else this.#lines.set(account, n);
    }
    if (state.reserved > 0) {
      const left = sub(this.reservedCredit(account), state.reserved);
      if (left <= 0) this.#reserved.delete(account);
      else this.#reserved.set(account, left);
    }
  }

  /** The rate for `dialled` under the account's tariff (or `default`). */
  #rate(p: AccountProfile, dialled: string): { match: RateMatch | undefined; own: boolean } {
    const exactLevel = this.#config.vgetpriceexactmatch;
    const exact = exactLevel === 2 || (exactLevel === 1 && p.type === TRAFFIC_SENDER);
    const own = p.tariff !== '' && this.#tariffs.has(p.tariff);
    const name = own ? p.tariff : DEFAULT_TARIFF;
    return { match: this.#tariffs.lookup(name, dialled, exact), own };
  }

  /** Why the call cannot be billed at the blocknotbilledcalls level in force (or 1 for logging). */
  #unbilled(
    p: AccountProfile,
    found: { match: RateMatch | undefined; own: boolean },
    dialled: string,
  ): string | undefined {
    const level = Math.max(1, this.#config.blocknotbilledcalls);
    const m = found.match;
    if (!m)
      return `no rate for ${dialled.slice(0, 32)} in tariff ${found.own ? p.tariff : DEFAULT_TARIFF}`;
    if (level >= 2 && m.rate.prefix === '') return 'only the catch-all rate matches';
    if (level >= 3 && !found.own) return 'the account has no tariff of its own';
    if (level >= 4 && m.depth > 0) return `the rate is inherited from ${m.tariff}`;
    if (level >= 5) {
      const parent = this.#tariffs.parentOf(p.tariff);
      if (parent !== undefined && !this.#tariffs.lookup(parent, dialled))
        return `the parent tariff ${parent} has no rate`;
    }
    return undefined;
  }

  #logUnbilled(call: CallRequest, why: string): void {
    const window = Math.floor(call.at / 10_000);
    if (window !== this.#unbilledWindow) {
      this.#unbilledWindow = window;
      this.#unbilledLines = 0;
    }
    if (++this.#unbilledLines > UNBILLED_LINES) return;
    const fields = {
      account: call.account,
      dialled: call.dialled.slice(0, 32),
      why,
      rule: 'notbilledcallerr',
    };
    // notbilledcallerr: 0 error (priority 2, the default), 1 error, 2 critical.
    if (this.#config.notbilledcallerr === 2)
      this.#log.fatal(fields, 'call cannot be billed (critical)');
    else
      this.#log.error(
        { ...fields, priority: this.#config.notbilledcallerr === 0 ? 2 : 1 },
        'call cannot be billed',
      );
  }

  #carrierRate(trunk: string, dialled: string): RateMatch | undefined {
    const p = this.#profile(trunk);
    const name = p && p.tariff !== '' ? p.tariff : trunk;
    return this.#tariffs.has(name) ? this.#tariffs.lookup(name, dialled) : undefined;
  }

  #learn(call: CallEnded, answered: boolean): void {
    const cfg = this.#config;
    if (call.destination === 'trunk') {
      const added = this.#blacklist.observe(
        call.dialled,
        call.account ?? call.source.ip,
        answered,
        call.endedAt,
        cfg.smartblacklist,
      );
      if (added) this.#hooks.smartBlacklisted?.(added.number, added.reason);
    }
    const bad = this.#callers.observe(
      [call.account, `ip:${call.source.ip}`],
      answered,
      call.endedAt,
      cfg.autoban,
    );
    for (const b of bad)
      this.#hooks.badCaller?.(
        b,
        b.caller.startsWith('ip:') ? call.source.ip : undefined,
        cfg.autoban,
      );
  }

  #speechEnabled(): boolean {
    const level = this.#config.calcmaxsl;
    return level === 1 || (level === -1 && this.#speechLimited.size > 0);
  }

  #profile(name: string): AccountProfile | undefined {
    const cached = this.#profiles.get(name);
    if (cached !== undefined) return cached ?? undefined;
    const fields = this.#accounts.fieldsOf(name);
    const p = fields ? profileFrom(name, fields) : null;
    this.#profiles.set(name, p);
    if (this.#profiles.size > 200_000) this.#profiles.delete(this.#profiles.keys().next().value!);
    return p ?? undefined;
  }

  #accountChanged(name: string): void {
    this.#profiles.delete(name);
    const fields = this.#accounts.fieldsOf(name);
    this.#noteFields(name, fields ?? {});
  }

  #noteFields(name: string, fields: Record<string, unknown>): void {
    if (Number(fields.maxslperday ?? 0) > 0 || Number(fields.maxslpermonth ?? 0) > 0)
      this.#speechLimited.add(name);
    else this.#speechLimited.delete(name);
    // The reference: maxdailycreditperuser is switched on at the first reload that finds a
    // user with maxdailycredit set.
    if (Number(fields.maxdailycredit ?? 0) > 0 && !this.#config.maxdailycreditperuser) {
      this.#settings.set('maxdailycreditperuser', true);
      this.#log.warn(
        { user: name },
        'maxdailycreditperuser switched on: an account has maxdailycredit set',
      );
    }
  }

  #d(): Derived {
    if (this.#derived) return this.#derived;
    const cfg = this.#config;
    const { schedule, bad } = parseSchedule(cfg.offpeakhours);
    if (bad.length > 0) this.#log.warn({ entries: bad }, 'offpeakhours: entries ignored');
    this.#derived = {
      dailyEnduser: fromConfig(cfg.maxdailycreditforenduser),
      dailyTs: fromConfig(cfg.maxdailycreditforts),
      dynMinEnduser: fromConfig(cfg.maxdyndailycreditforenduser_min),
      dynMinTs: fromConfig(cfg.maxdynmaxdailycreditforts_min),
      multiplierMilli: Math.round(cfg.maxdyndailycredit_multiplier * 1000),
      blockHigh: fromConfig(cfg.blockhighcostcalls),
      schedule,
      ipPeriodMs: Math.round(cfg.maxcallperperiod * 86_400_000),
      maxCalls: licenseLimit(cfg.licensecfg, 'maxcalls'),
    };
    this.#ledger.ipPeriodMs = this.#derived.ipPeriodMs;
    return this.#derived;
  }
}

function billed(rate: RateMatch, seconds: number): number {
  const { first, next } = rate.rate;
  const d = Math.max(0, Math.ceil(seconds));
  return d <= first ? first : first + Math.ceil((d - first) / next) * next;
}
