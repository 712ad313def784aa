// URIs of RFC 3261 §19.1 / §25.1 (sip, sips), RFC 3966 (tel, basic form) and any other
// scheme kept opaque. Parsing is a single forward scan with table lookups; %-escapes are
// validated and decoded per component (RFC 3261 §19.1.2, RFC 4475 §3.1.1.3-5), so `user`
// of "sip:null-%00-null@…" is "null-\0-null". Strings are latin1 (one char per octet).
import { isIPv6 } from 'node:net';
import {
  ALPHA,
  allIn,
  DIGIT,
  HEX,
  HNVCHAR,
  HOSTCHAR,
  PARAMCHAR,
  PASSWORD,
  SCHEME,
  scanWhile,
  TELCHAR,
  URIC,
  USER,
  workMeter,
} from './chars.ts';
import { TextCache } from './text-cache.ts';
import { lowerSlice, NO_PARAMS } from './value-scan.ts';

export type HostType = 'ipv4' | 'ipv6' | 'domain';

export interface SipUri {
  readonly scheme: 'sip' | 'sips';
  /** Unescaped user part, undefined when the URI has no userinfo. */
  readonly user?: string;
  readonly password?: string;
  /** Host as written, lower-cased; IPv6 references keep their brackets. */
  readonly host: string;
  readonly hostType: HostType;
  readonly port?: number;
  /** uri-parameters, names lower-cased, names and values unescaped; null = no value. */
  readonly params: ReadonlyMap<string, string | null>;
  /** ?headers, unescaped. */
  readonly headers: ReadonlyMap<string, string>;
  readonly raw: string;
}

export interface TelUri {
  readonly scheme: 'tel';
  /** The subscriber as written (with visual separators). */
  readonly number: string;
  /** Digits, "+" and hex/"*"/"#" only: the number without visual separators. */
  readonly digits: string;
  readonly global: boolean;
  readonly params: ReadonlyMap<string, string | null>;
  readonly raw: string;
}

export interface OpaqueUri {
  readonly scheme: string;
  readonly opaque: string;
  readonly raw: string;
}

export type Uri = SipUri | TelUri | OpaqueUri;

export type UriResult = { ok: true; uri: Uri } | { ok: false; detail: string };

export function isSipUri(u: Uri): u is SipUri {
  return u.scheme === 'sip' || u.scheme === 'sips';
}

export function isTelUri(u: Uri): u is TelUri {
  return u.scheme === 'tel';
}

function fail(detail: string): UriResult {
  return { ok: false, detail };
}

/** Decodes %HH escapes in s[i..end); returns null if an escape is malformed. */
export function unescapePercent(s: string, i = 0, end = s.length): string | null {
  let pct = s.indexOf('%', i);
  if (pct < 0 || pct >= end) return s.slice(i, end);
  let out = '';
  let from = i;
  while (pct >= 0 && pct < end) {
    if (pct + 2 >= end) return null;
    const h = s.charCodeAt(pct + 1);
    const l = s.charCodeAt(pct + 2);
    if (h > 255 || l > 255 || HEX[h] === 0 || HEX[l] === 0) return null;
    out += s.slice(from, pct) + String.fromCharCode(Number.parseInt(s.slice(pct + 1, pct + 3), 16));
    from = pct + 3;
    pct = s.indexOf('%', from);
  }
  return out + s.slice(from, end);
}

/** host = hostname / IPv4address / IPv6reference (RFC 3261 §25.1). */
export function classifyHost(host: string): HostType | null {
  if (host.length === 0 || host.length > 255) return null;
  if (host.charCodeAt(0) === 0x5b) {
    if (host.charCodeAt(host.length - 1) !== 0x5d) return null;
    return isIPv6(host.slice(1, -1)) ? 'ipv6' : null;
  }
  if (!allIn(host, 0, host.length, HOSTCHAR)) return null;
  return classifyHostChars(host);
}

/** classifyHost of a host that is known to be HOSTCHAR chars only (it was scanned so). */
export function classifyHostChars(host: string): HostType | null {
  if (host.length === 0 || host.length > 255) return null;
  workMeter.ops += host.length;
  const c0 = host.charCodeAt(0);
  if (c0 >= 0x30 && c0 <= 0x39 && isIPv4(host)) return 'ipv4';
  // hostname = *( domainlabel "." ) toplabel [ "." ]; toplabel starts with ALPHA, so a
  // dotted quad that is not a valid IPv4 address (1.2.3.999) is not a hostname either.
  const end = host.charCodeAt(host.length - 1) === 0x2e ? host.length - 1 : host.length;
  let labelStart = 0;
  let topStart = 0;
  for (let i = 0; i <= end; i++) {
    if (i < end && host.charCodeAt(i) !== 0x2e) continue;
    const length = i - labelStart;
    if (length === 0 || length > 63) return null;
    if (host.charCodeAt(labelStart) === 0x2d || host.charCodeAt(i - 1) === 0x2d) return null;
    topStart = labelStart;
    labelStart = i + 1;
  }
  return ALPHA[host.charCodeAt(topStart)] === 1 ? 'domain' : null;
}

export function isIPv4(s: string): boolean {
  let parts = 0;
  let i = 0;
  while (parts < 4) {
    const start = i;
    let value = 0;
    while (i < s.length && i - start < 4) {
      const c = s.charCodeAt(i);
      if (c < 0x30 || c > 0x39) break;
      value = value * 10 + (c - 0x30);
      i++;
    }
    const n = i - start;
    if (n === 0 || n > 3 || value > 255) return false;
    parts++;
    if (parts < 4) {
      if (s.charCodeAt(i) !== 0x2e) return false;
      i++;
    }
  }
  return i === s.length;
}

/** Parses ;name[=value] runs (chars from `t`) starting at s[i] === ';'. */
function parseUriParams(
  s: string,
  i: number,
  end: number,
  t: Uint8Array,
  out: Map<string, string | null>,
): number | string {
  while (i < end && s.charCodeAt(i) === 0x3b) {
    const nameStart = i + 1;
    const nameEnd = scanWhile(s, nameStart, end, t);
    if (nameEnd === nameStart) return 'empty URI parameter name';
    let eq = nameEnd;
    // '=' is not a paramchar, so it ends the name.
    let value: string | null = null;
    if (eq < end && s.charCodeAt(eq) === 0x3d) {
      const vEnd = scanWhile(s, eq + 1, end, t);
      if (vEnd === eq + 1) return 'empty URI parameter value';
      value = unescapePercent(s, eq + 1, vEnd);
      if (value === null) return 'bad %-escape in URI parameter';
      eq = vEnd;
    }
    const name = unescapePercent(s, nameStart, nameEnd);
    if (name === null) return 'bad %-escape in URI parameter';
    const key = lowerSlice(name, 0, name.length);
    const size = out.size;
    if (out.set(key, value).size === size) return `duplicate URI parameter ${key}`;
    i = eq;
  }
  return i;
}

function parseSipUri(raw: string, scheme: 'sip' | 'sips', p: number): UriResult {
  const end = raw.length;
  let user: string | undefined;
  let password: string | undefined;
  // '@' is legal only as the userinfo terminator (it is escaped everywhere else).
  const at = raw.indexOf('@', p);
  if (at >= 0) {
    const colon = raw.indexOf(':', p);
    const userEnd = colon >= 0 && colon < at ? colon : at;
    if (userEnd === p || !allIn(raw, p, userEnd, USER)) return fail('bad user part');
    const u = unescapePercent(raw, p, userEnd);
    if (u === null) return fail('bad %-escape in user part');
    user = u;
    if (userEnd < at) {
      if (at > userEnd + 1 && !allIn(raw, userEnd + 1, at, PASSWORD)) return fail('bad password');
      const pw = unescapePercent(raw, userEnd + 1, at);
      if (pw === null) return fail('bad %-escape in password');
      password = pw;
    }
    p = at + 1;
  }
  let hostEnd: number;
  const bracketed = raw.charCodeAt(p) === 0x5b;
  if (bracketed) {
    const close = raw.indexOf(']', p);
    if (close < 0) return fail('unterminated IPv6 reference');
    hostEnd = close + 1;
  } else {
    hostEnd = scanWhile(raw, p, end, HOSTCHAR);
  }
  const host = lowerSlice(raw, p, hostEnd);
  const hostType = bracketed ? classifyHost(host) : classifyHostChars(host);
  if (hostType === null) return fail(`bad host "${host}"`);
  p = hostEnd;
  let port: number | undefined;
  if (p < end && raw.charCodeAt(p) === 0x3a) {
    const portEnd = scanWhile(raw, p + 1, end, DIGIT);
    if (portEnd === p + 1 || portEnd - p - 1 > 5) return fail('bad port');
    port = Number(raw.slice(p + 1, portEnd));
    if (port > 65535) return fail('port out of range');
    p = portEnd;
  }
  let params = NO_PARAMS;
  if (p < end && raw.charCodeAt(p) === 0x3b) {
    const own = new Map<string, string | null>();
    const afterParams = parseUriParams(raw, p, end, PARAMCHAR, own);
    if (typeof afterParams === 'string') return fail(afterParams);
    p = afterParams;
    params = own;
  }
  let headers = NO_PARAMS as ReadonlyMap<string, string>;
  if (p < end && raw.charCodeAt(p) === 0x3f) {
    const own = new Map<string, string>();
    headers = own;
    do {
      const nameStart = p + 1;
      const nameEnd = scanWhile(raw, nameStart, end, HNVCHAR);
      if (nameEnd === nameStart || raw.charCodeAt(nameEnd) !== 0x3d) return fail('bad URI header');
      const valueEnd = scanWhile(raw, nameEnd + 1, end, HNVCHAR);
      const name = unescapePercent(raw, nameStart, nameEnd);
      const value = unescapePercent(raw, nameEnd + 1, valueEnd);
      if (name === null || value === null) return fail('bad %-escape in URI header');
      own.set(name, value);
      p = valueEnd;
    } while (p < end && raw.charCodeAt(p) === 0x26);
  }
  if (p !== end) return fail(`unexpected character at ${p}`);
  return {
    ok: true,
    uri: { scheme, user, password, host, hostType, port, params, headers, raw },
  };
}

function parseTelUri(raw: string, p: number): UriResult {
  const end = raw.length;
  const numEnd = scanWhile(raw, p, end, TELCHAR);
  if (numEnd === p) return fail('empty telephone number');
  const number = raw.slice(p, numEnd);
  const global = number.charCodeAt(0) === 0x2b;
  let digits = '';
  for (let i = 0; i < number.length; i++) {
    const c = number[i]!;
    if (c === '+' && i !== 0) return fail('"+" inside a telephone number');
    if ('-.()'.indexOf(c) < 0) digits += c;
  }
  if (digits.length === 0 || (global && digits.length === 1)) return fail('no digits');
  const params = new Map<string, string | null>();
  const after = parseUriParams(raw, numEnd, end, PARAMCHAR, params);
  if (typeof after === 'string') return fail(after);
  if (after !== end) return fail(`unexpected character at ${after}`);
  return { ok: true, uri: { scheme: 'tel', number, digits, global, params, raw } };
}

/**
 * Parses one URI. `raw` must be exactly the URI (no surrounding <> or whitespace).
 * Never throws.
 */
const URI_CACHE = new TextCache<UriResult>(1024, 256);

export function parseUri(raw: string, maxBytes: number): UriResult {
  if (raw.length > maxBytes) return fail(`URI longer than ${maxBytes} octets`);
  // Below the limit the result depends on the text alone.
  const hit = URI_CACHE.get(raw);
  if (hit !== undefined) return hit;
  const own = URI_CACHE.own(raw);
  const r = parseUriText(own);
  if (r.ok) URI_CACHE.add(own, r);
  return r;
}

function parseUriText(raw: string): UriResult {
  if (raw.length === 0 || ALPHA[raw.charCodeAt(0)] !== 1)
    return fail('URI must start with a scheme');
  const colon = scanWhile(raw, 1, raw.length, SCHEME);
  if (raw.charCodeAt(colon) !== 0x3a) return fail('URI scheme not followed by ":"');
  const scheme = lowerSlice(raw, 0, colon);
  if (scheme === 'sip' || scheme === 'sips') return parseSipUri(raw, scheme, colon + 1);
  if (scheme === 'tel') return parseTelUri(raw, colon + 1);
  if (!allIn(raw, colon + 1, raw.length, URIC)) return fail(`bad characters in ${scheme} URI`);
  return { ok: true, uri: { scheme, opaque: raw.slice(colon + 1), raw } };
}
