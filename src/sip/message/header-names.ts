// Header names are case-insensitive (RFC 3261 §7.3.1) and several have a compact form
// (§7.3.3 and the later RFCs that registered one with IANA). Internally every field is keyed
// by the lower-case long name; on the wire the canonical capitalisation below is used.

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

/** Lower-case long name for any spelling of a header name ("v", "VIA", "Via" → "via"). */
export function headerKey(name: string): string {
  const lower = name.toLowerCase();
  if (lower.length === 1) return COMPACT[lower] ?? lower;
  return lower;
}

/** The name written on the wire: canonical for known headers, else as given. */
export function wireName(key: string, asReceived: string): string {
  return CANONICAL[key] ?? asReceived;
}
