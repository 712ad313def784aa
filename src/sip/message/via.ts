// Via (RFC 3261 §20.42, §25.1):
//   via-parm = sent-protocol LWS sent-by *( SEMI via-params )
//   sent-protocol = protocol-name SLASH protocol-version SLASH transport
//   sent-by = host [ COLON port ]
// SLASH and COLON allow SWS on both sides, which RFC 4475 wsinv.dat exercises.

import { isIPv6 } from 'node:net';
import { DIGIT, HOSTCHAR, scanWhile, skipWs, TOKEN } from './chars.ts';
import { classifyHost, type HostType, isIPv4 } from './uri.ts';
import { atEnd, bad, listElements, ok, parseParams, type ViewResult } from './value-scan.ts';

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

function parseVia(s: string): Via | string {
  const end = s.length;
  let i = skipWs(s, 0, end);
  const parts: string[] = [];
  for (let k = 0; k < 3; k++) {
    if (k > 0) {
      i = skipWs(s, i, end);
      if (s.charCodeAt(i) !== 0x2f) return 'sent-protocol needs name/version/transport';
      i = skipWs(s, i + 1, end);
    }
    const tEnd = scanWhile(s, i, end, TOKEN);
    if (tEnd === i) return 'empty sent-protocol part';
    parts.push(s.slice(i, tEnd));
    i = tEnd;
  }
  const hostStart = skipWs(s, i, end);
  if (hostStart === i) return 'no whitespace before sent-by';
  let hostEnd: number;
  if (s.charCodeAt(hostStart) === 0x5b) {
    const close = s.indexOf(']', hostStart);
    if (close < 0) return 'unterminated IPv6 reference';
    hostEnd = close + 1;
  } else hostEnd = scanWhile(s, hostStart, end, HOSTCHAR);
  const host = s.slice(hostStart, hostEnd).toLowerCase();
  const hostType = classifyHost(host);
  if (hostType === null) return `bad sent-by host "${host}"`;
  i = hostEnd;
  let port: number | undefined;
  const colon = skipWs(s, i, end);
  if (s.charCodeAt(colon) === 0x3a) {
    const pStart = skipWs(s, colon + 1, end);
    const pEnd = scanWhile(s, pStart, end, DIGIT);
    if (pEnd === pStart || pEnd - pStart > 5 || Number(s.slice(pStart, pEnd)) > 65535) {
      return 'bad sent-by port';
    }
    port = Number(s.slice(pStart, pEnd));
    i = pEnd;
  }
  const pr = parseParams(s, i, end);
  if (typeof pr === 'string') return pr;
  if (!atEnd(s, pr.end, end)) return `unexpected text after Via parameters`;
  const params = pr.params;
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
    if (!/^\d{1,5}$/.test(rportRaw) || Number(rportRaw) > 65535) return 'bad rport';
    rport = Number(rportRaw);
  }
  return {
    protocol: parts[0]!.toUpperCase(),
    version: parts[1]!,
    transport: parts[2]!.toUpperCase(),
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
  const elements = listElements(values);
  if (typeof elements === 'string') return bad(elements);
  const out: Via[] = [];
  for (const el of elements) {
    if (el.length === 0) return bad('empty Via value');
    const v = parseVia(el);
    if (typeof v === 'string') return bad(v);
    out.push(v);
  }
  return ok(out);
}
