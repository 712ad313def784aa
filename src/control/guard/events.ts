// What the guard is told and what it answers: the event the SIP layer reports (one per fact),
// the decision, and the evidence kept with a ban or a detection. guard.ts says which events
// the SIP layer sends; rules.ts says which rule counts which event.

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

export type EvidenceScope = 'ip' | 'ip:port' | 'session' | 'call';

/** What explains a ban (stored with it, shown by `tollgatectl bans`) or a detection. */
export interface BanEvidence {
  /** One line for an operator. */
  reason: string;
  /** The config key whose threshold tripped (the counter's name). */
  rule: string;
  /** What was counted. */
  counter: string;
  scope: EvidenceScope;
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
  readonly scope?: EvidenceScope;
  readonly evidence?: BanEvidence;
  /** Not banned (detect-only mode, or a trusted source): what would have been. */
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

/** The answer when nothing is wrong: one frozen object, compared by identity. */
export const PASS: GuardDecision = Object.freeze({ action: 'pass' });
