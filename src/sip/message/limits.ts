// Every bound the parser enforces, in one place. The parser faces the internet: each limit
// caps the work and memory one message can cost, and each violation has its own reject reason
// so that the guard can tell a flood of oversized junk from a merely malformed peer.
import { SipErrors } from '../errors.ts';

export interface ParseLimits {
  /** Whole message, start line to end of body. 65535 is the largest UDP payload. */
  readonly maxMessageBytes: number;
  /** Header fields (lines after unfolding), not comma-separated values. */
  readonly maxHeaderCount: number;
  /** One logical header field (name, colon, unfolded value) or the start line. */
  readonly maxHeaderLineBytes: number;
  /** Request-URI and any URI inside a typed header view. */
  readonly maxUriBytes: number;
  /** Via values across all Via fields. RFC 4475 longreq.dat carries 34; Max-Forwards 70. */
  readonly maxViaCount: number;
  /** Largest Content-Length accepted before reading a body. */
  readonly maxContentLength: number;
}

export const DEFAULT_LIMITS: ParseLimits = Object.freeze({
  maxMessageBytes: 65535,
  maxHeaderCount: 100,
  maxHeaderLineBytes: 8192,
  maxUriBytes: 2048,
  maxViaCount: 70,
  maxContentLength: 65535,
});

/** Defaults overridden by `overrides`; validated once (call at configuration time). */
export function resolveLimits(overrides: Partial<ParseLimits> = {}): ParseLimits {
  const out = { ...DEFAULT_LIMITS, ...overrides };
  for (const [k, v] of Object.entries(out)) {
    if (!Number.isSafeInteger(v) || v <= 0) throw new SipErrors.TG_SIP_BAD_LIMIT(k, v);
  }
  return Object.freeze(out);
}
