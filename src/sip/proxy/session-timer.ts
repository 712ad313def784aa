// RFC 4028 session timers, as a record-routing proxy applies them. A call whose phones died
// (power cut, NAT binding lost) never sends BYE; with session timers one of the ends must
// refresh the session (re-INVITE or UPDATE, 2xx) within the interval, and the proxy, which
// sees every refresh, tears the call down when none came (§10), so the call stops counting
// against limits and billing.
//
//   initial INVITE   Session-Expires below `minse`: 422 + Min-SE when the caller supports
//                    timers (§8.1), else raised to `minse`; absent: `sessionexpires` inserted
//                    (0 = never); above `sessionexpires`: lowered to it (never below the
//                    request's Min-SE)
//   2xx (INVITE, UPDATE)
//                    its Session-Expires is the session's interval; when the callee answered
//                    without one but the caller supports timers, the proxy puts one in the
//                    2xx with refresher=uac and Require: timer (§8.2); no interval = no timer
//
// Every value read is bounded: delta-seconds of at most 10 digits, capped below.
import type { SipRequest, SipResponse } from '../message/index.ts';

/** RFC 4028 §4: no interval below 90 seconds is meaningful (Min-SE's floor). */
export const RFC_MIN_SE = 90;
/** Longest interval taken from a message: a day (longer would never tear anything down). */
const MAX_INTERVAL = 86_400;

export interface SessionTimerConfig {
  /** The interval the proxy asks for when the caller named none; 0 = ask for none. */
  readonly sessionexpires: number;
  /** The smallest interval the proxy accepts (the Min-SE of its 422). */
  readonly minse: number;
}

export interface SessionExpires {
  readonly seconds: number;
  readonly refresher: 'uac' | 'uas' | undefined;
}

/** "1800;refresher=uac" → its delta-seconds and refresher; undefined when absent or malformed. */
export function parseSessionExpires(value: string | undefined): SessionExpires | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*(\d{1,10})\s*(;.*)?$/.exec(value);
  if (!m) return undefined;
  const refresher = /;\s*refresher\s*=\s*(uac|uas)\b/i.exec(m[2] ?? '')?.[1]?.toLowerCase();
  return {
    seconds: Math.min(Number(m[1]), MAX_INTERVAL),
    refresher: refresher as SessionExpires['refresher'],
  };
}

/** The Min-SE of a message (delta-seconds, parameters ignored), or undefined. */
export function parseMinSe(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const m = /^\s*(\d{1,10})\s*(;.*)?$/.exec(value);
  return m ? Math.min(Number(m[1]), MAX_INTERVAL) : undefined;
}

/** Whether the message lists `timer` in Supported (or its compact form k). */
export function supportsTimer(m: SipRequest | SipResponse): boolean {
  return m
    .headerValues('supported')
    .some((v) => v.split(',').some((t) => t.trim().toLowerCase() === 'timer'));
}

/**
 * §8.1: the Min-SE to answer 422 with when the INVITE asks for an interval the proxy will
 * not accept and its sender can understand a 422 (Supported: timer); else undefined.
 */
export function tooSmall(req: SipRequest, cfg: SessionTimerConfig): number | undefined {
  const se = parseSessionExpires(req.header('session-expires'));
  if (se === undefined || se.seconds >= cfg.minse || !supportsTimer(req)) return undefined;
  return cfg.minse;
}

/** §8.1: the forwarded INVITE's Session-Expires and Min-SE, as the proxy's policy wants them. */
export function applySessionPolicy(out: SipRequest, cfg: SessionTimerConfig): void {
  const se = parseSessionExpires(out.header('session-expires'));
  const requestMin = parseMinSe(out.header('min-se')) ?? RFC_MIN_SE;
  const floor = Math.max(cfg.minse, requestMin);
  let seconds: number | undefined;
  if (se === undefined) {
    if (cfg.sessionexpires > 0) seconds = Math.max(cfg.sessionexpires, floor);
  } else if (se.seconds < cfg.minse) {
    seconds = cfg.minse; // a caller without timer support cannot be told 422: raised
  } else if (cfg.sessionexpires > 0 && se.seconds > cfg.sessionexpires) {
    seconds = Math.max(cfg.sessionexpires, floor);
  }
  if (seconds === undefined) return;
  const refresher = se?.refresher ? `;refresher=${se.refresher}` : '';
  out.setHeader('Session-Expires', `${seconds}${refresher}`);
  if (floor > requestMin || out.has('min-se')) out.setHeader('Min-SE', String(floor));
}

/**
 * §8.2: the session interval a 2xx of an INVITE or UPDATE sets (seconds), or undefined when
 * the session has none. `request` is the request as forwarded. Inserts Session-Expires and
 * Require: timer into the 2xx when the callee did not but the caller supports timers.
 */
export function intervalFromAnswer(
  request: SipRequest,
  res: SipResponse,
  cfg: SessionTimerConfig,
): number | undefined {
  const answered = parseSessionExpires(res.header('session-expires'));
  if (answered !== undefined) return Math.max(answered.seconds, cfg.minse);
  const asked = parseSessionExpires(request.header('session-expires'));
  if (asked === undefined || !supportsTimer(request)) return undefined;
  const seconds = Math.max(asked.seconds, cfg.minse);
  res.setHeader('Session-Expires', `${seconds};refresher=uac`);
  res.addHeader('Require', 'timer');
  return seconds;
}
