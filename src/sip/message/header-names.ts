// Header names are case-insensitive (RFC 3261 §7.3.1) and several have a compact form
// (§7.3.3 and the later RFCs that registered one with IANA). Internally every field is keyed
// by the lower-case long name; on the wire the canonical capitalisation below is used.
import { Words } from './chars.ts';

const COMPACT: Readonly<Record<string, string>> = {
  a: 'accept-contact', // RFC 3841
  b: 'referred-by', // RFC 3892
  c: 'content-type',
  d: 'request-disposition', // RFC 3841
  e: 'content-encoding',
  f: 'from',
  i: 'call-id',
  j: 'reject-contact', // RFC 3841
  k: 'supported',
  l: 'content-length',
  m: 'contact',
  n: 'identity-info', // RFC 4474
  o: 'event', // RFC 6665
  r: 'refer-to', // RFC 3515
  s: 'subject',
  t: 'to',
  u: 'allow-events', // RFC 6665
  v: 'via',
  x: 'session-expires', // RFC 4028
  y: 'identity', // RFC 4474 / 8224
};

const CANONICAL: Readonly<Record<string, string>> = {
  'accept-contact': 'Accept-Contact',
  'allow-events': 'Allow-Events',
  'call-id': 'Call-ID',
  'content-encoding': 'Content-Encoding',
  'content-length': 'Content-Length',
  'content-type': 'Content-Type',
  'identity-info': 'Identity-Info',
  'max-forwards': 'Max-Forwards',
  'proxy-authenticate': 'Proxy-Authenticate',
  'proxy-authorization': 'Proxy-Authorization',
  'proxy-require': 'Proxy-Require',
  'record-route': 'Record-Route',
  'refer-to': 'Refer-To',
  'referred-by': 'Referred-By',
  'reject-contact': 'Reject-Contact',
  'request-disposition': 'Request-Disposition',
  'session-expires': 'Session-Expires',
  'www-authenticate': 'WWW-Authenticate',
  accept: 'Accept',
  allow: 'Allow',
  authorization: 'Authorization',
  contact: 'Contact',
  cseq: 'CSeq',
  date: 'Date',
  event: 'Event',
  expires: 'Expires',
  from: 'From',
  identity: 'Identity',
  require: 'Require',
  route: 'Route',
  subject: 'Subject',
  supported: 'Supported',
  to: 'To',
  unsupported: 'Unsupported',
  via: 'Via',
};

// Names as they are usually written, looked up without lower-casing: every field of every
// message goes through headerKey, and nearly all of them are spelled one of these ways.
const OTHER_COMMON = [
  'alert-info',
  'authentication-info',
  'call-info',
  'content-disposition',
  'content-language',
  'error-info',
  'in-reply-to',
  'min-expires',
  'min-se',
  'mime-version',
  'organization',
  'p-asserted-identity',
  'p-preferred-identity',
  'path',
  'priority',
  'privacy',
  'rack',
  'reason',
  'replaces',
  'reply-to',
  'retry-after',
  'rseq',
  'server',
  'subscription-state',
  'timestamp',
  'user-agent',
  'warning',
];

/** "user-agent" → "User-Agent" */
function titleCase(key: string): string {
  return key.replace(/(^|-)([a-z])/g, (_, dash: string, c: string) => dash + c.toUpperCase());
}

const KEY_OF_NAME: ReadonlyMap<string, string> = (() => {
  const m = new Map<string, string>();
  for (const [letter, key] of Object.entries(COMPACT)) {
    m.set(letter, key);
    m.set(letter.toUpperCase(), key);
  }
  for (const key of [...Object.keys(CANONICAL), ...OTHER_COMMON]) {
    for (const spelling of [key, titleCase(key), key.toUpperCase(), CANONICAL[key] ?? key]) {
      m.set(spelling, key);
    }
  }
  return m;
})();

const CANONICAL_OF_KEY: ReadonlyMap<string, string> = new Map(Object.entries(CANONICAL));

/** The key of a name spelled one of the usual ways (every such spelling is a token), if it is. */
export function knownKey(name: string): string | undefined {
  return KEY_OF_NAME.get(name);
}

/** Lower-case long name for any spelling of a header name ("v", "VIA", "Via" → "via"). */
export function headerKey(name: string): string {
  const known = KEY_OF_NAME.get(name);
  if (known !== undefined) return known;
  const lower = name.toLowerCase();
  // Own properties only: "constructor" is a header name, not Object.prototype's.
  if (lower.length === 1) return Object.hasOwn(COMPACT, lower) ? COMPACT[lower]! : lower;
  return lower;
}

/** A known header name, as the parser finds it (HEADER_NAMES). */
export interface KnownName {
  /** The key of every spelling of the name. */
  readonly key: string;
  /**
   * How this spelling is usually written (its compact letter in lower case, else the canonical
   * name): a name received so is this constant, not a copy cut from the message.
   */
  readonly usual: string;
}

/**
 * Every known spelling, lower-cased, with its key: the parser reads a name and finds its key
 * in one scan (Words); a name not found has the key headerKey gives.
 */
export const HEADER_NAMES = new Words<KnownName>(
  [...KEY_OF_NAME].map(([spelling, key]) => {
    const lower = spelling.toLowerCase();
    const usual = lower.length === 1 ? lower : (CANONICAL[key] ?? titleCase(key));
    return [lower, Object.freeze({ key, usual })] as const;
  }),
);

/** The name written on the wire: canonical for known headers, else as given. */
export function wireName(key: string, asReceived: string): string {
  return CANONICAL_OF_KEY.get(key) ?? asReceived;
}

const FIELD_PREFIX: ReadonlyMap<string, string> = new Map(
  Object.entries(CANONICAL).map(([key, name]) => [key, `\r\n${name}: `]),
);

/**
 * CRLF, then the name written on the wire (wireName) and ": ": what ends the previous line
 * and starts a field's (known names are one constant string each).
 */
export function fieldPrefix(key: string, asReceived: string): string {
  return FIELD_PREFIX.get(key) ?? `\r\n${asReceived}: `;
}
