// Single-valued headers with a scalar grammar (RFC 3261 §20, §25.1).
import { allIn, DIGIT, knownMethod, scanWhile, skipWs, TOKEN, WORD } from './chars.ts';
import { bad, listElements, ok, parseDecimal, type ViewResult } from './value-scan.ts';

export interface CSeq {
  readonly seq: number;
  readonly method: string;
}

/** RFC 3261 §8.1.1.5: the sequence number MUST be less than 2^31. */
export const MAX_CSEQ = 2 ** 31 - 1;
/** delta-seconds: RFC 3261 §20.19 bounds Expires to 2^32 - 1. */
export const MAX_DELTA_SECONDS = 2 ** 32 - 1;

function missing<T>(): ViewResult<T> {
  return { ok: false, detail: 'missing', missing: true };
}

// The one-value headers' views read the first field only (checks.ts refuses a request with
// more than one): each parser takes that field's value, undefined when there is none.

/** CSeq = 1*DIGIT LWS Method */
export function parseCSeq(s: string | undefined): ViewResult<CSeq> {
  if (s === undefined) return missing();
  const end = s.length;
  const dStart = skipWs(s, 0, end);
  const dEnd = scanWhile(s, dStart, end, DIGIT);
  const seq = smallDecimal(s, dStart, dEnd) ?? parseDecimal(s.slice(dStart, dEnd), MAX_CSEQ);
  if (seq === null) return bad('sequence number is not a number below 2^31');
  const mStart = skipWs(s, dEnd, end);
  if (mStart === dEnd) return bad('no whitespace before method');
  const mEnd = scanWhile(s, mStart, end, TOKEN);
  if (mEnd === mStart || skipWs(s, mEnd, end) !== end) return bad('bad method');
  return ok({ seq, method: knownMethod(s, mStart, mEnd) ?? s.slice(mStart, mEnd) });
}

/**
 * The digits s[i..end) as a number when there are 1 to 9 of them (below MAX_CSEQ and every
 * other bound a caller here has), without cutting them out first; undefined otherwise, for
 * parseDecimal to decide.
 */
function smallDecimal(s: string, i: number, end: number): number | undefined {
  if (end <= i || end - i > 9) return undefined;
  let n = 0;
  for (let k = i; k < end; k++) n = n * 10 + (s.charCodeAt(k) - 0x30);
  return n;
}

/** Max-Forwards = 1*DIGIT, 0..255 (§20.22). Undefined when absent. */
export function parseMaxForwards(value: string | undefined): ViewResult<number | undefined> {
  if (value === undefined) return ok(undefined);
  const n = parseDecimal(value.trim(), 255);
  return n === null ? bad('not a number in 0..255') : ok(n);
}

/** Expires = delta-seconds (§20.19). Undefined when absent. */
export function parseExpires(value: string | undefined): ViewResult<number | undefined> {
  if (value === undefined) return ok(undefined);
  const n = parseDecimal(value.trim(), MAX_DELTA_SECONDS);
  return n === null ? bad('not a number in 0..2^32-1') : ok(n);
}

/** Content-Length = 1*DIGIT (§20.14). Undefined when absent. */
export function parseContentLength(value: string | undefined): ViewResult<number | undefined> {
  if (value === undefined) return ok(undefined);
  const n = parseDecimal(value.trim(), Number.MAX_SAFE_INTEGER);
  return n === null ? bad('not a non-negative integer') : ok(n);
}

/** callid = word [ "@" word ] (§20.8) */
export function parseCallId(value: string | undefined): ViewResult<string> {
  if (value === undefined) return missing();
  const v = value.trim();
  const at = v.indexOf('@');
  const okWords =
    at < 0
      ? allIn(v, 0, v.length, WORD)
      : allIn(v, 0, at, WORD) && allIn(v, at + 1, v.length, WORD);
  return okWords ? ok(v) : bad('not word["@"word]');
}

const MONTHS = 'JanFebMarAprMayJunJulAugSepOctNovDec';
const DAYS = 'MonTueWedThuFriSatSun';

/**
 * SIP-date = rfc1123-date = wkday "," SP date1 SP time SP "GMT" (§20.17), e.g.
 * "Sat, 15 Oct 2005 04:44:56 GMT". Any other zone is an error (RFC 4475 baddate).
 */
export function parseDate(value: string | undefined): ViewResult<Date | undefined> {
  if (value === undefined) return ok(undefined);
  const v = value.trim();
  if (v.length !== 29) return bad('not an RFC 1123 date in GMT');
  const wkday = v.slice(0, 3);
  const mon = v.slice(8, 11);
  const shape =
    v[3] === ',' &&
    v[4] === ' ' &&
    v[7] === ' ' &&
    v[11] === ' ' &&
    v[16] === ' ' &&
    v[19] === ':' &&
    v[22] === ':' &&
    v.slice(25) === ' GMT' &&
    allIn(v, 5, 7, DIGIT) &&
    allIn(v, 12, 16, DIGIT) &&
    allIn(v, 17, 19, DIGIT) &&
    allIn(v, 20, 22, DIGIT) &&
    allIn(v, 23, 25, DIGIT);
  const monthIndex = MONTHS.indexOf(mon);
  if (!shape || DAYS.indexOf(wkday) % 3 !== 0 || monthIndex % 3 !== 0) {
    return bad('not an RFC 1123 date in GMT');
  }
  const day = Number(v.slice(5, 7));
  const ms = Date.UTC(
    Number(v.slice(12, 16)),
    monthIndex / 3,
    day,
    Number(v.slice(17, 19)),
    Number(v.slice(20, 22)),
    Number(v.slice(23, 25)),
  );
  const d = new Date(ms);
  if (d.getUTCDate() !== day || Number(v.slice(17, 19)) > 23) return bad('date out of range');
  return ok(d);
}

/** Require / Proxy-Require / Supported / Unsupported: lists of option-tag tokens. */
export function parseOptionTags(values: readonly string[]): ViewResult<string[]> {
  const elements = listElements(values);
  if (typeof elements === 'string') return bad(elements);
  // Supported may be empty (§20.37); an empty field yields no tags.
  if (elements.length === 1 && elements[0] === '') return ok([]);
  for (const el of elements) {
    if (!allIn(el, 0, el.length, TOKEN)) return bad(`bad option tag "${el}"`);
  }
  return ok(elements);
}
