// name-addr / addr-spec headers: From, To (§20.20, §20.39), Contact (§20.10), Route and
// Record-Route (§20.34, §20.30).
//   name-addr    = [ display-name ] LAQUOT addr-spec RAQUOT
//   display-name = *(token LWS) / quoted-string
//   LAQUOT = SWS "<", RAQUOT = ">" SWS   — so no whitespace just inside the brackets
// An addr-spec without brackets ends at the first ";" (what follows are header parameters,
// RFC 4475 cparam01) and may not contain "?" or "," (§20.10; RFC 4475 regbadct).
import { DQUOTE, HTAB, SP, scanWhile, skipWs, TOKEN } from './chars.ts';
import { TextCache } from './text-cache.ts';
import { parseUri, type Uri } from './uri.ts';
import {
  atEnd,
  bad,
  listElements,
  ok,
  onlyElement,
  paramsScan,
  parseParams,
  quotedEnd,
  unquote,
  type ViewResult,
} from './value-scan.ts';

export interface NameAddr {
  /** Display name, unquoted and decoded from UTF-8; undefined when absent. */
  readonly displayName?: string;
  readonly uri: Uri;
  /** Header parameters (after the URI), names lower-cased. */
  readonly params: ReadonlyMap<string, string | null>;
  readonly tag?: string;
}

export interface Contact extends NameAddr {
  /** q-value 0..1 if given. */
  readonly q?: number;
  /** Seconds; RFC 3261 §20.10: malformed values are treated as 3600. */
  readonly expires?: number;
}

/** Contact: * (only valid in a REGISTER that removes all bindings, §10.2.2). */
export type ContactList =
  | { readonly star: true }
  | { readonly star: false; readonly list: Contact[] };

const TOKEN_OR_WS = (() => {
  const t = new Uint8Array(256);
  t.set(TOKEN);
  t[SP] = 1;
  t[HTAB] = 1;
  return t;
})();

function latin1ToUtf8(s: string): string {
  for (let i = 0; i < s.length; i++) {
    if (s.charCodeAt(i) > 0x7f) return Buffer.from(s, 'latin1').toString('utf8');
  }
  return s;
}

function parseAddress(s: string, allowAddrSpec: boolean, maxUri: number): NameAddr | string {
  const end = s.length;
  let i = skipWs(s, 0, end);
  let displayName: string | undefined;
  let uriText: string;
  if (s.charCodeAt(i) === DQUOTE) {
    const q = quotedEnd(s, i, end);
    if (q < 0) return 'unterminated quoted display name';
    displayName = latin1ToUtf8(unquote(s, i, q));
    i = skipWs(s, q, end);
    if (s.charCodeAt(i) !== 0x3c) return 'quoted display name not followed by "<"';
  } else {
    const runEnd = scanWhile(s, i, end, TOKEN_OR_WS);
    if (s.charCodeAt(runEnd) === 0x3c) {
      const name = s.slice(i, runEnd).trim();
      if (name.length > 0) displayName = name;
      i = runEnd;
    } else if (!allowAddrSpec) {
      return 'expected name-addr in "<>"';
    }
  }
  if (s.charCodeAt(i) === 0x3c) {
    const close = s.indexOf('>', i + 1);
    if (close < 0) return 'missing ">"';
    uriText = s.slice(i + 1, close);
    for (let k = 0; k < uriText.length; k++) {
      const c = uriText.charCodeAt(k);
      if (c === SP || c === HTAB) return 'whitespace inside "<>"';
    }
    i = close + 1;
  } else {
    // addr-spec form: the URI runs to the first ";" or whitespace.
    const start = i;
    while (i < end) {
      const c = s.charCodeAt(i);
      if (c === 0x3b || c === SP || c === HTAB) break;
      if (c === 0x3f || c === 0x2c) return 'addr-spec with "?" or "," must be in "<>"';
      i++;
    }
    uriText = s.slice(start, i);
  }
  const u = parseUri(uriText, maxUri);
  if (!u.ok) return u.detail;
  const pr = parseParams(s, i, end);
  if (typeof pr === 'string') return pr;
  if (!atEnd(s, paramsScan.end, end)) return 'unexpected text after address';
  const tag = pr.get('tag');
  if (tag === null) return 'tag without a value';
  return { displayName, uri: u.uri, params: pr, tag: tag ?? undefined };
}

// From/To and Contact values come back unchanged (text-cache.ts): a REGISTER answered with a
// 401 is re-sent with the same ones. A kept result is only used under a URI limit that
// every URI in it meets, which is when parsing it again would give the same result.
const ADDRESS_CACHE = new TextCache<ViewResult<NameAddr>>(1024, 512);
const CONTACT_CACHE = new TextCache<ViewResult<ContactList>>(1024, 512);

function urisFit(list: readonly NameAddr[], maxUri: number): boolean {
  for (const a of list) if (a.uri.raw.length > maxUri) return false;
  return true;
}

/** From / To: exactly one address (the first field's value; undefined when absent). */
export function parseSingleAddress(text: string | undefined, maxUri: number): ViewResult<NameAddr> {
  if (text === undefined) return { ok: false, detail: 'missing', missing: true };
  const hit = ADDRESS_CACHE.get(text);
  if (hit?.ok && hit.value.uri.raw.length <= maxUri) return hit;
  const own = ADDRESS_CACHE.own(text);
  const a = parseAddress(own, true, maxUri);
  if (typeof a === 'string') return bad(a);
  const r = ok(a);
  ADDRESS_CACHE.add(own, r);
  return r;
}

/** Route / Record-Route: a list of name-addr. */
export function parseRouteList(values: readonly string[], maxUri: number): ViewResult<NameAddr[]> {
  const only = onlyElement(values);
  if (only !== undefined) {
    const a = parseAddress(only, false, maxUri);
    return typeof a === 'string' ? bad(a) : ok([a]);
  }
  const elements = listElements(values);
  if (typeof elements === 'string') return bad(elements);
  // Sized once: an array grown by push() starts with room for 16 more.
  const out = new Array<NameAddr>(elements.length);
  for (let k = 0; k < elements.length; k++) {
    const a = parseAddress(elements[k]!, false, maxUri);
    if (typeof a === 'string') return bad(a);
    out[k] = a;
  }
  return ok(out);
}

function qvalue(v: string): number | null {
  // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
  if (!/^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(v)) return null;
  return Number(v);
}

export function parseContactList(
  values: readonly string[],
  maxUri: number,
): ViewResult<ContactList> {
  if (values.length !== 1) return parseContacts(values, maxUri);
  const text = values[0]!;
  const hit = CONTACT_CACHE.get(text);
  if (hit?.ok && (hit.value.star || urisFit(hit.value.list, maxUri))) return hit;
  const own = CONTACT_CACHE.own(text);
  const r = parseContacts([own], maxUri);
  if (r.ok) CONTACT_CACHE.add(own, r);
  return r;
}

function parseContacts(values: readonly string[], maxUri: number): ViewResult<ContactList> {
  if (values.length === 1 && values[0]!.trim() === '*') return ok({ star: true });
  const elements = listElements(values);
  if (typeof elements === 'string') return bad(elements);
  const list: Contact[] = [];
  for (const el of elements) {
    if (el === '*') return bad('"*" mixed with other contacts');
    const a = parseAddress(el, true, maxUri);
    if (typeof a === 'string') return bad(a);
    let q: number | undefined;
    const qRaw = a.params.get('q');
    if (qRaw !== undefined) {
      const qv = qRaw === null ? null : qvalue(qRaw);
      if (qv === null) return bad('bad q value');
      q = qv;
    }
    let expires: number | undefined;
    const eRaw = a.params.get('expires');
    if (eRaw !== undefined) {
      expires = eRaw !== null && /^\d{1,10}$/.test(eRaw) ? Number(eRaw) : 3600;
      if (expires > 0xffffffff) expires = 3600;
    }
    list.push({ displayName: a.displayName, uri: a.uri, params: a.params, tag: a.tag, q, expires });
  }
  return ok({ star: false, list });
}
