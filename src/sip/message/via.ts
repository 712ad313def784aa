// Via (RFC 3261 §20.42, §25.1):
//   via-parm = sent-protocol LWS sent-by *( SEMI via-params )
//   sent-protocol = protocol-name SLASH protocol-version SLASH transport
//   sent-by = host [ COLON port ]
// SLASH and COLON allow SWS on both sides, which RFC 4475 wsinv.dat exercises.

import { isIPv6 } from 'node:net';
import { DIGIT, HOSTCHAR, scanWhile, skipWs, TOKEN, Words } from './chars.ts';
import { classifyHost, classifyHostChars, type HostType, isIPv4 } from './uri.ts';
import {
  atEnd,
  bad,
  listElements,
  lowerSlice,
  ok,
  onlyElement,
  paramsScan,
  parseParams,
  type ViewResult,
} from './value-scan.ts';

export interface Via {
  /** "SIP" in practice. */
  readonly protocol: string;
  readonly version: string;
  /** Upper-cased: UDP, TCP, TLS, SCTP, WS, WSS or an extension. */
  readonly transport: string;
  readonly host: string;
  readonly hostType: HostType;
  readonly port?: number;
  readonly params: ReadonlyMap<string, string | null>;
  readonly branch?: string;
  readonly received?: string;
  /** RFC 3581: true when present without a value, the port when filled in. */
  readonly rport?: number | true;
}

/** RFC 3261 §8.1.1.7: a branch made by an RFC 3261 element starts with this cookie. */
export const BRANCH_MAGIC_COOKIE = 'z9hG4bK';

/** Transports, each spelling (any case) standing for its upper-case name. */
const TRANSPORTS = new Words(
  ['udp', 'tcp', 'tls', 'sctp', 'ws', 'wss'].map((t) => [t, t.toUpperCase()] as const),
);

/** The transport token s[i..end), upper-cased. */
function transportName(s: string, i: number, end: number): string {
  return TRANSPORTS.scan(s, i, end) === end && TRANSPORTS.found !== undefined
    ? TRANSPORTS.found
    : upperSlice(s, i, end);
}

/** s.slice(i, end).toUpperCase(), without the second copy when nothing is lower-case. */
function upperSlice(s: string, i: number, end: number): string {
  for (let k = i; k < end; k++) {
    const c = s.charCodeAt(k);
    if ((c >= 0x61 && c <= 0x7a) || c >= 0x80) return s.slice(i, end).toUpperCase();
  }
  return s.slice(i, end);
}

/** 1*5DIGIT up to 65535 → the number; -1 otherwise. */
function portNumber(s: string, i: number, end: number): number {
  if (end === i || end - i > 5) return -1;
  let n = 0;
  for (let k = i; k < end; k++) {
    const c = s.charCodeAt(k);
    if (c < 0x30 || c > 0x39) return -1;
    n = n * 10 + (c - 0x30);
  }
  return n > 65535 ? -1 : n;
}

function parseVia(s: string): Via | string {
  const end = s.length;
  let i = skipWs(s, 0, end);
  // sent-protocol = protocol-name SLASH protocol-version SLASH transport
  let nameStart = 0;
  let nameEnd = 0;
  let versionStart = 0;
  let versionEnd = 0;
  let transportStart = 0;
  // Nearly always "SIP/2.0/": then only the transport is left to scan.
  let protocol: string | undefined;
  let version: string | undefined;
  const fast = s.startsWith('SIP/2.0/', i);
  if (fast) {
    protocol = 'SIP';
    version = '2.0';
    nameStart = i;
    nameEnd = i + 3;
    versionStart = i + 4;
    versionEnd = i + 7;
    i = skipWs(s, i + 8, end);
    transportStart = i;
    i = scanWhile(s, i, end, TOKEN);
    if (i === transportStart) return 'empty sent-protocol part';
  }
  for (let k = fast ? 3 : 0; k < 3; k++) {
    if (k > 0) {
      i = skipWs(s, i, end);
      if (s.charCodeAt(i) !== 0x2f) return 'sent-protocol needs name/version/transport';
      i = skipWs(s, i + 1, end);
    }
    const tEnd = scanWhile(s, i, end, TOKEN);
    if (tEnd === i) return 'empty sent-protocol part';
    if (k === 0) {
      nameStart = i;
      nameEnd = tEnd;
    } else if (k === 1) {
      versionStart = i;
      versionEnd = tEnd;
    } else transportStart = i;
    i = tEnd;
  }
  const transportEnd = i;
  const hostStart = skipWs(s, i, end);
  if (hostStart === i) return 'no whitespace before sent-by';
  let hostEnd: number;
  const bracketed = s.charCodeAt(hostStart) === 0x5b;
  if (bracketed) {
    const close = s.indexOf(']', hostStart);
    if (close < 0) return 'unterminated IPv6 reference';
    hostEnd = close + 1;
  } else hostEnd = scanWhile(s, hostStart, end, HOSTCHAR);
  const host = lowerSlice(s, hostStart, hostEnd);
  const hostType = bracketed ? classifyHost(host) : classifyHostChars(host);
  if (hostType === null) return `bad sent-by host "${host}"`;
  i = hostEnd;
  let port: number | undefined;
  const colon = skipWs(s, i, end);
  if (s.charCodeAt(colon) === 0x3a) {
    const pStart = skipWs(s, colon + 1, end);
    const pEnd = scanWhile(s, pStart, end, DIGIT);
    const n = portNumber(s, pStart, pEnd);
    if (n < 0) return 'bad sent-by port';
    port = n;
    i = pEnd;
  }
  const pr = parseParams(s, i, end);
  if (typeof pr === 'string') return pr;
  if (!atEnd(s, paramsScan.end, end)) return `unexpected text after Via parameters`;
  const params = pr;
  const branch = params.get('branch');
  if (branch === null) return 'branch without a value';
  const received = params.get('received');
  if (received !== undefined && (received === null || !(isIPv4(received) || isIPv6(received)))) {
    return 'received is not an IP address';
  }
  const rportRaw = params.get('rport');
  let rport: number | true | undefined;
  if (rportRaw === null) rport = true;
  else if (rportRaw !== undefined) {
    const n = portNumber(rportRaw, 0, rportRaw.length);
    if (n < 0) return 'bad rport';
    rport = n;
  }
  return {
    protocol: protocol ?? upperSlice(s, nameStart, nameEnd),
    version: version ?? s.slice(versionStart, versionEnd),
    transport: transportName(s, transportStart, transportEnd),
    host,
    hostType,
    port,
    params,
    branch: branch ?? undefined,
    received: received ?? undefined,
    rport,
  };
}

/** All Via values of all Via fields, top first. */
export function parseViaList(values: readonly string[]): ViewResult<Via[]> {
  const only = onlyElement(values);
  if (only !== undefined) {
    if (only.length === 0) return bad('empty Via value');
    const v = parseVia(only);
    return typeof v === 'string' ? bad(v) : ok([v]);
  }
  const elements = listElements(values);
  if (typeof elements === 'string') return bad(elements);
  // Sized once: an array grown by push() starts with room for 16 more.
  const out = new Array<Via>(elements.length);
  for (let k = 0; k < elements.length; k++) {
    const el = elements[k]!;
    if (el.length === 0) return bad('empty Via value');
    const v = parseVia(el);
    if (typeof v === 'string') return bad(v);
    out[k] = v;
  }
  return ok(out);
}
