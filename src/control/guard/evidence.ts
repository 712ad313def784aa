// The evidence of a ban, a refusal, a closed session or a detection: what tripped, counted
// how, over which window, and a redacted sample of the first and last message.
import type { GuardConfig } from './config.ts';
import type { BanEvidence, EvidenceScope, GuardEvent } from './events.ts';
import { redactSample } from './redact.ts';
import { ruleNamed } from './rules.ts';

/** A threshold reached: what the evidence is made from. */
export interface Trip {
  rule: string;
  scope: EvidenceScope;
  count: number;
  threshold: number;
  windowMs: number;
  windowStart: number;
  /** The (truncated, not yet redacted) message that opened the window. */
  first: string | undefined;
}

export function buildEvidence(
  cfg: GuardConfig,
  event: GuardEvent,
  now: number,
  trip: Trip,
): BanEvidence {
  const ttlSeconds = Math.round(cfg.reenableMs / 1000);
  const windowSeconds = Math.round(trip.windowMs / 1000);
  const what = ruleNamed(trip.rule).counter;
  let reason: string;
  if (trip.rule === 'blockua') {
    const ua = event.userAgent ?? '';
    reason = `blockua: User-Agent "${ua.slice(0, 80)}" matches "${cfg.blockuaList.which(ua) ?? ''}"`;
  } else if (trip.rule === 'allowua') {
    reason = `allowua: User-Agent "${(event.userAgent ?? '').slice(0, 80)}" is not on the list`;
  } else {
    const within = windowSeconds > 0 ? ` within ${windowSeconds} s` : '';
    reason = `${trip.rule}: ${trip.count} ${what}${within} (threshold ${trip.threshold})`;
  }
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
