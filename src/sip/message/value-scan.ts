// Building blocks shared by the typed header views: comma lists, quoted strings and
// ;params, all as forward scans over an unfolded header value (RFC 3261 §25.1: LWS is
// already reduced to SP, so SWS/LWS here are runs of SP/HTAB).
import {
  BACKSLASH,
  DQUOTE,
  GENVALUE,
  HTAB,
  SP,
  scanWhile,
  skipWs,
  words,
  workMeter,
} from './chars.ts';
import { collectParams, countChar, type ParamCollector } from './params.ts';

export type ViewResult<T> =
  | { readonly ok: true; readonly value: T }
  | { readonly ok: false; readonly detail: string; readonly missing?: boolean };

export function ok<T>(value: T): ViewResult<T> {
  return { ok: true, value };
}

export function bad<T>(detail: string): ViewResult<T> {
  return { ok: false, detail };
}

/**
 * Index just past the closing DQUOTE of the quoted-string opening at s[i], or -1 if it is
 * not terminated. quoted-pair = "\" (%x00-09 / %x0B-0C / %x0E-7F) (RFC 3261 §25.1).
 */
export function quotedEnd(s: string, i: number, end: number): number {
  const start = i;
  i++;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c === DQUOTE) {
      workMeter.ops += i - start;
      return i + 1;
    }
    if (c === BACKSLASH) {
      const n = s.charCodeAt(i + 1);
      if (i + 1 >= end || n === 0x0a || n === 0x0d || n > 0x7f) return -1;
      i += 2;
    } else if (c === 0x0a || c === 0x0d) {
      return -1;
    } else {
      i++;
    }
  }
  workMeter.ops += i - start;
  return -1;
}

/**
 * True when no quoted-string in `s` can hold a quoted-pair, CR or LF, so that plainQuotedEnd
 * finds where each one ends with a native search instead of a walk over every char. Three
 * native searches per value; header values of parsed messages never hold CR or LF.
 */
export function plainQuotes(s: string): boolean {
  return s.indexOf('\\') < 0 && s.indexOf('\r') < 0 && s.indexOf('\n') < 0;
}

/** quotedEnd(s, i, end) for an `s` of which plainQuotes(s) holds. */
export function plainQuotedEnd(s: string, i: number, end: number): number {
  const q = s.indexOf('"', i + 1);
  if (q < 0 || q >= end) {
    workMeter.ops += end - i;
    return -1;
  }
  workMeter.ops += q - i;
  return q + 1;
}

/** Contents of the quoted-string s[i..qend) with quoted-pairs resolved. */
export function unquote(s: string, i: number, qend: number): string {
  const inner = s.slice(i + 1, qend - 1);
  if (inner.indexOf('\\') < 0) return inner;
  let out = '';
  for (let k = 0; k < inner.length; k++) {
    const c = inner[k]!;
    if (c === '\\') {
      k++;
      out += inner[k] ?? '';
    } else out += c;
  }
  return out;
}

/**
 * Splits a header value on commas that are outside quoted strings and <>, as for
 * header = name HCOLON value *(COMMA value). Elements are trimmed; an unbalanced quote or
 * bracket is an error. Empty elements are kept so that views can reject them.
 */
export function splitList(s: string): string[] | string {
  // Most values are one element without quotes or "<": nothing to split and nothing that can
  // be unbalanced, which native searches (much faster than a walk over each char) tell.
  if (isSingleElement(s)) {
    workMeter.ops += s.length;
    return [trim(s, 0, s.length)];
  }
  const out: string[] = [];
  let from = 0;
  let i = 0;
  const end = s.length;
  let angle = false;
  while (i < end) {
    const c = s.charCodeAt(i);
    if (c === DQUOTE) {
      const q = quotedEnd(s, i, end);
      if (q < 0) return 'unterminated quoted string';
      i = q;
      continue;
    }
    if (c === 0x3c) angle = true;
    else if (c === 0x3e) angle = false;
    else if (c === 0x2c && !angle) {
      out.push(trim(s, from, i));
      from = i + 1;
    }
    i++;
  }
  workMeter.ops += end;
  if (angle) return 'unbalanced "<"';
  out.push(trim(s, from, end));
  return out;
}

/**
 * Whether splitList(s) is [s trimmed]: no comma, no quote, and no "<" left open (most values,
 * name-addrs included).
 */
function isSingleElement(s: string): boolean {
  if (s.indexOf(',') >= 0 || s.indexOf('"') >= 0) return false;
  const open = s.lastIndexOf('<');
  return open < 0 || open < s.lastIndexOf('>');
}

/**
 * The only element of a list header's values when they are one value of one element (the
 * commonest case, told by native searches), else undefined: what listElements would give
 * as its only element, without the array.
 */
export function onlyElement(values: readonly string[]): string | undefined {
  if (values.length !== 1) return undefined;
  const s = values[0]!;
  if (!isSingleElement(s)) return undefined;
  workMeter.ops += s.length;
  return trim(s, 0, s.length);
}

function trim(s: string, i: number, end: number): string {
  i = skipWs(s, i, end);
  while (end > i) {
    const c = s.charCodeAt(end - 1);
    if (c !== SP && c !== HTAB) break;
    end--;
  }
  return s.slice(i, end);
}

/**
 * The one Map of every view without parameters (most URIs and many header values): parsed
 * views are read-only, and this one also refuses writes at run time.
 */
export const NO_PARAMS: ReadonlyMap<string, string | null> = (() => {
  const m = new Map<string, string | null>();
  const refuse = () => {
    throw new TypeError('parsed SIP views are read-only');
  };
  for (const method of ['set', 'delete', 'clear']) {
    Object.defineProperty(m, method, { value: refuse, enumerable: false });
  }
  return m;
})();

/** s.slice(i, end).toLowerCase(), without the second copy when nothing is upper-case. */
export function lowerSlice(s: string, i: number, end: number): string {
  for (let k = i; k < end; k++) {
    const c = s.charCodeAt(k);
    if ((c >= 0x41 && c <= 0x5a) || c >= 0x80) return s.slice(i, end).toLowerCase();
  }
  return s.slice(i, end);
}

/** Parameter names seen in nearly every message (Via, To, From, Contact). */
const PARAM_NAMES = words([
  'branch',
  'received',
  'rport',
  'maddr',
  'ttl',
  'tag',
  'expires',
  'q',
  'transport',
  'lr',
  'ob',
  'reg-id',
  '+sip.instance',
  'methods',
  'user',
  'method',
  'alias',
]);

/** Where the last parseParams stopped (its result holds no position: no object per call). */
export const paramsScan = { end: 0 };

/**
 * *( SEMI generic-param ), generic-param = token [ EQUAL gen-value ],
 * gen-value = token / host / quoted-string. Names are lower-cased; quoted values are
 * returned unquoted. Stops at the first char that cannot continue the list, which it leaves
 * in paramsScan.end; the caller decides whether anything may follow.
 */
export function parseParams(
  s: string,
  i: number,
  end: number,
): ReadonlyMap<string, string | null> | string {
  let params: ParamCollector<string | null> | undefined;
  for (;;) {
    const semi = skipWs(s, i, end);
    if (semi >= end || s.charCodeAt(semi) !== 0x3b) {
      paramsScan.end = i;
      return params ?? NO_PARAMS;
    }
    const nameStart = skipWs(s, semi + 1, end);
    const nameEnd = PARAM_NAMES.scan(s, nameStart, end);
    if (nameEnd === nameStart) return 'empty parameter';
    const name = PARAM_NAMES.found ?? lowerSlice(s, nameStart, nameEnd);
    let value: string | null = null;
    i = nameEnd;
    const eq = skipWs(s, nameEnd, end);
    if (eq < end && s.charCodeAt(eq) === 0x3d) {
      const vStart = skipWs(s, eq + 1, end);
      if (s.charCodeAt(vStart) === DQUOTE) {
        const q = quotedEnd(s, vStart, end);
        if (q < 0) return `unterminated quoted value of ${name}`;
        value = unquote(s, vStart, q);
        i = q;
      } else {
        const vEnd = scanWhile(s, vStart, end, GENVALUE);
        if (vEnd === vStart) return `empty value of ${name}`;
        value = s.slice(vStart, vEnd);
        i = vEnd;
      }
    }
    params ??= collectParams(countChar(s, ';', semi, end));
    if (!params.add(name, value)) return `duplicate parameter ${name}`;
  }
}

/** Nothing but whitespace may remain in s[i..end). */
export function atEnd(s: string, i: number, end: number): boolean {
  return skipWs(s, i, end) === end;
}

/** Joins all values of a header and splits them into list elements. */
export function listElements(values: readonly string[]): string[] | string {
  if (values.length === 1) return splitList(values[0]!);
  const out: string[] = [];
  for (const v of values) {
    const parts = splitList(v);
    if (typeof parts === 'string') return parts;
    for (const p of parts) out.push(p);
  }
  return out;
}

/** 1*DIGIT → number, or null if not all digits or above `max`. */
export function parseDecimal(s: string, max: number): number | null {
  if (s.length === 0 || s.length > 16) {
    // More than 16 digits cannot be ≤ 2^32 after leading zeros are stripped only if they are
    // all zeros; handle that rare case without building a big number.
    const stripped = s.replace(/^0+(?=\d)/, '');
    if (s.length === 0 || stripped.length > 16) return null;
    return parseDecimal(stripped, max);
  }
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x30 || c > 0x39) return null;
  }
  const n = Number(s);
  return n <= max ? n : null;
}
