// The guard's rules as one table: one row per rule, each naming the config key(s) that drive
// it, what it counts and per what, over which window, and what happens when the count reaches
// the threshold. Every threshold trips when the count reaches it; 0 switches a rule off.
//
// `engine` says who applies the row:
//   counter     generic (address-rules.ts): one windowed counter per row, keyed `per`, fed by
//               the events in `on` (and `when`), reset by `resetOn`. A new rule of this kind is
//               one row here, its event kind in events.ts, its keys in config.ts: nothing else.
//   user-agent  one message decides (blockua bans, allowua drops): user-agent-rules.ts.
//   calls       per-IP call allowances (call-limits.ts): the call beyond the allowance is
//               refused; with autoban 2 the source is banned as well.
//   session     per-dialog limits (sessions.ts): the session is closed.
//
// The "auth" windows are maxsubfailauthperiod; blockscanning_treshold has no period in the
// reference and uses maxsubfailauthperiod too.
import {
  derivedAuthRequestLimit,
  FAST_AUTH_WINDOW_MS,
  type GuardConfig,
  type GuardKey,
} from './config.ts';
import type { EvidenceScope, GuardEvent, GuardEventKind } from './events.ts';

/** What a counter row's threshold may depend on besides the configuration. */
export interface RuleEnv {
  /** Server load 0..1 (maxsubsipauthrequest = -1). */
  load(): number;
  /** fastauthsubswrongusermsg's per-address limit, lowered while many addresses exceed it. */
  fastLimit(configured: number): number;
}

export type RuleEngine = 'counter' | 'user-agent' | 'calls' | 'session';

/**
 * What a count is keyed by: the address, the address and source port (the NAT rule: a second
 * device behind the same address keeps working), or the address counting each user name it
 * tries once (scanning).
 */
export type RulePer = 'ip' | 'ip:port' | 'ip+distinct-user' | 'call' | 'session' | 'message';

export type RuleAction = 'ban-ip' | 'ban-ip:port' | 'drop' | 'refuse-call' | 'close-session';

export interface Rule {
  /** The rule's name in bans, detections and logs: the key of its threshold. */
  readonly rule: string;
  /** Every config key that drives it. */
  readonly keys: readonly GuardKey[];
  /** What is counted, for an operator. */
  readonly counter: string;
  readonly engine: RuleEngine;
  readonly per: RulePer;
  /** The events that count. */
  readonly on: readonly GuardEventKind[];
  /** Only events for which this holds count (default: all of `on`). */
  readonly when?: (event: GuardEvent) => boolean;
  /** Events from the address that start its count over. */
  readonly resetOn?: readonly GuardEventKind[];
  /** Window length in ms (0: one message decides). */
  readonly window: (c: GuardConfig) => number;
  /** 0 = off. */
  readonly threshold: (c: GuardConfig, env: RuleEnv) => number;
  readonly action: RuleAction;
}

const AUTH_EVENTS = ['auth-challenge', 'auth-fail', 'unauthorized'] as const;
const authWindow = (c: GuardConfig) => c.maxsubfailauthperiod * 1000;

export const RULES = [
  // ── counted per address (address-rules.ts), in the order they are evaluated ──────────
  {
    rule: 'maxfailedauthenabledipport',
    keys: ['maxfailedauthenabledipport', 'maxsubfailauthperiod'],
    counter: 'failed authentications from the IP:port',
    engine: 'counter',
    per: 'ip:port',
    on: ['auth-fail'],
    window: authWindow,
    threshold: (c) => c.maxfailedauthenabledipport,
    action: 'ban-ip:port',
  },
  {
    rule: 'maxsubsmsgcount',
    keys: ['maxsubsmsgcount', 'maxsubsmsgperiod'],
    counter: 'messages from the address',
    engine: 'counter',
    per: 'ip',
    on: ['message'],
    window: (c) => c.maxsubsmsgperiod * 1000,
    threshold: (c) => c.maxsubsmsgcount,
    action: 'ban-ip',
  },
  {
    rule: 'maxwrongmsgallowed',
    keys: ['maxwrongmsgallowed', 'maxwrongmsgperiod'],
    counter: 'wrong or meaningless messages from the address',
    engine: 'counter',
    per: 'ip',
    on: ['wrong'],
    window: (c) => c.maxwrongmsgperiod * 1000,
    threshold: (c) => c.maxwrongmsgallowed,
    action: 'ban-ip',
  },
  {
    rule: 'maxfailedauthenabledip',
    keys: ['maxfailedauthenabledip', 'maxsubfailauthperiod'],
    counter: 'failed authentications from the address',
    engine: 'counter',
    per: 'ip',
    on: ['auth-fail'],
    window: authWindow,
    threshold: (c) => c.maxfailedauthenabledip,
    action: 'ban-ip',
  },
  {
    rule: 'maxwrongauthfromip',
    keys: ['maxwrongauthfromip', 'maxsubfailauthperiod'],
    counter: 'unauthorized requests from the address',
    engine: 'counter',
    per: 'ip',
    on: ['auth-fail', 'unauthorized'],
    window: authWindow,
    threshold: (c) => c.maxwrongauthfromip,
    action: 'ban-ip',
  },
  {
    rule: 'maxsubsipauthrequest',
    keys: ['maxsubsipauthrequest', 'maxsubfailauthperiod'],
    counter: 'auth requests from the address with no success since the last one',
    engine: 'counter',
    per: 'ip',
    on: ['auth-challenge', 'auth-fail'],
    resetOn: ['auth-ok'],
    window: authWindow,
    threshold: (c, env) =>
      c.maxsubsipauthrequest === -1 ? derivedAuthRequestLimit(env.load()) : c.maxsubsipauthrequest,
    action: 'ban-ip',
  },
  {
    rule: 'fastauthsubswrongusermsg',
    keys: ['fastauthsubswrongusermsg'],
    counter: 'not authenticated messages from the address in 90 s',
    engine: 'counter',
    per: 'ip',
    on: AUTH_EVENTS,
    window: () => FAST_AUTH_WINDOW_MS,
    threshold: (c, env) => env.fastLimit(c.fastauthsubswrongusermsg),
    action: 'ban-ip',
  },
  {
    rule: 'blockscanning_treshold',
    keys: ['blockscanning_treshold', 'maxsubfailauthperiod'],
    counter: 'distinct usernames tried from the address without success',
    engine: 'counter',
    per: 'ip+distinct-user',
    // An OPTIONS naming a user is a scan sign too (sipvicious svmap/svwar).
    on: ['message', ...AUTH_EVENTS],
    when: (e) =>
      e.user !== undefined && e.user !== '' && (e.kind !== 'message' || e.method === 'OPTIONS'),
    resetOn: ['auth-ok'],
    window: authWindow,
    threshold: (c) => c.blockscanning_treshold,
    action: 'ban-ip',
  },
  {
    rule: 'maxconnlimithits',
    keys: ['maxconnlimithits', 'maxconnlimitperiod'],
    counter: 'connections refused, evicted or closed by a deadline for the address',
    engine: 'counter',
    per: 'ip',
    // A TCP/TLS connection refused at a cap, evicted, or closed by a deadline (slowloris).
    on: ['connection-refused', 'connection-evicted', 'connection-timeout'],
    window: (c) => c.maxconnlimitperiod * 1000,
    threshold: (c) => c.maxconnlimithits,
    action: 'ban-ip',
  },
  // ── one message decides (user-agent-rules.ts) ───────────────────────────────────────────────────
  {
    rule: 'blockua',
    keys: ['blockua', 'reenabledosblocked'],
    counter: 'User-Agent on the blockua list',
    engine: 'user-agent',
    per: 'message',
    on: [
      'message',
      'wrong',
      'auth-challenge',
      'auth-fail',
      'auth-ok',
      'unauthorized',
      'call-start',
      'call-end',
    ],
    window: () => 0,
    threshold: () => 1,
    action: 'ban-ip',
  },
  {
    rule: 'allowua',
    keys: ['allowua'],
    counter: 'User-Agent not on the allowua list',
    engine: 'user-agent',
    per: 'message',
    on: ['message'],
    window: () => 0,
    threshold: () => 1,
    action: 'drop',
  },
  // ── per-IP call allowances (call-limits.ts) ──────────────────────────────────────────
  {
    rule: 'maxcallperip',
    keys: ['maxcallperip', 'maxcallperperiod', 'maxcallperuserid', 'autoban'],
    counter: 'calls from the address',
    engine: 'calls',
    per: 'call',
    on: ['call-start'],
    window: (c) => c.callPeriodMs,
    threshold: (c) => c.maxcallperip,
    action: 'refuse-call',
  },
  {
    rule: 'maxdurationperip',
    keys: ['maxdurationperip', 'maxcallperperiod', 'maxcallperuserid', 'autoban'],
    counter: 'call seconds from the address',
    engine: 'calls',
    per: 'call',
    on: ['call-start', 'call-end'],
    window: (c) => c.callPeriodMs,
    threshold: (c) => c.maxdurationperip,
    action: 'refuse-call',
  },
  {
    rule: 'maxcostperip',
    keys: ['maxcostperip', 'maxcallperperiod', 'maxcallperuserid', 'autoban'],
    counter: 'call cost from the address (micro-units)',
    engine: 'calls',
    per: 'call',
    on: ['call-start'],
    window: (c) => c.callPeriodMs,
    threshold: (c) => c.maxcostperipMicros,
    action: 'refuse-call',
  },
  // ── per dialog (sessions.ts) ─────────────────────────────────────────────────────────
  {
    rule: 'sessionmaxmsg',
    keys: ['sessionmaxmsg'],
    counter: 'messages in the session',
    engine: 'session',
    per: 'session',
    on: ['message'],
    window: () => 0,
    threshold: (c) => c.sessionmaxmsg,
    action: 'close-session',
  },
  {
    rule: 'sessionmaxquickmsg',
    keys: ['sessionmaxquickmsg', 'sessionquickmsgms'],
    counter: 'abnormally quick messages in the session',
    engine: 'session',
    per: 'session',
    on: ['message'],
    window: () => 0,
    threshold: (c) => c.sessionmaxquickmsg,
    action: 'close-session',
  },
  {
    rule: 'sessionmaxinvalid',
    keys: ['sessionmaxinvalid'],
    counter: 'consecutive invalid messages in the session',
    engine: 'session',
    per: 'session',
    on: ['wrong'],
    window: () => 0,
    threshold: (c) => c.sessionmaxinvalid,
    action: 'close-session',
  },
  {
    rule: 'sessionmaxauthfail',
    keys: ['sessionmaxauthfail'],
    counter: 'failed authentications in the session',
    engine: 'session',
    per: 'session',
    on: ['auth-fail'],
    window: () => 0,
    threshold: (c) => c.sessionmaxauthfail,
    action: 'close-session',
  },
] as const satisfies readonly Rule[];

export type RuleName = (typeof RULES)[number]['rule'];

const BY_NAME = new Map<string, Rule>(RULES.map((r) => [r.rule, r]));

/** The row of a rule by its name. */
export function ruleNamed(name: string): Rule {
  const rule = BY_NAME.get(name);
  if (rule === undefined) throw new Error(`no guard rule named ${name}`);
  return rule;
}

/** The scope of the evidence a rule's action produces. */
export function scopeOf(rule: Rule): EvidenceScope {
  if (rule.action === 'ban-ip:port') return 'ip:port';
  if (rule.action === 'refuse-call') return 'call';
  if (rule.action === 'close-session') return 'session';
  return 'ip';
}
