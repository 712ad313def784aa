// Where a request really came from, written into its top Via, and where its responses go.
//
// RFC 3261 §18.2.1: when the sent-by host is a domain name or an IP address other than the
// packet's source, the server adds `received=<source IP>`. RFC 3581 §4: when the client put
// an empty `rport` in the top Via, the server fills it with the source port, and then adds
// `received` even if sent-by already equals the source. So a request
//
//   Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK1;rport     (from 203.0.113.7:40123)
//
// is passed up as
//
//   Via: SIP/2.0/UDP 192.168.1.20:5060;branch=z9hG4bK1;received=203.0.113.7;rport=40123
//
// Whatever `received` or `rport` value the client wrote itself is replaced: header-supplied
// addresses are never trusted. RFC 3261 §18.2.2 sends a UDP response to `received` (here:
// always the source IP) at `rport` if present, else the sent-by port. `maddr` is ignored on
// purpose: honouring it would let a spoofed request aim our responses at any host.
import { canonicalIp } from '../../ip.ts';
import type { SipMessage, Via } from '../message/index.ts';
import { collectParams } from '../message/params.ts';
import { ok, quotedEnd } from '../message/value-scan.ts';
import type { Destination, Source, TransportName } from './types.ts';

/** RFC 3261 §19.1.2 default ports. */
export function defaultPort(transport: TransportName): number {
  return transport === 'tls' ? 5061 : 5060;
}

function unbracket(host: string): string {
  return host.charCodeAt(0) === 0x5b && host.charCodeAt(host.length - 1) === 0x5d
    ? host.slice(1, -1)
    : host;
}

// Every incoming UDP request with rport (every phone behind NAT, SIPp) is rewritten here, so
// the rewrite scans the field value once and builds the result from slices: no split arrays.
// It keeps the text exactly as the obvious split/trim/join would: parameters split on ";" and
// values on "," outside quoted strings (an unterminated quote ends the scan), each piece
// trimmed as String.prototype.trim does.

/** The whitespace String.prototype.trim removes, for one UTF-16 code unit. */
function isTrimSpace(c: number): boolean {
  if (c <= 0xff) return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0xa0;
  return (
    c === 0x1680 ||
    (c >= 0x2000 && c <= 0x200a) ||
    c === 0x2028 ||
    c === 0x2029 ||
    c === 0x202f ||
    c === 0x205f ||
    c === 0x3000 ||
    c === 0xfeff
  );
}

/** v[from, to) trimmed. */
function trimmed(v: string, from: number, to: number): string {
  while (from < to && isTrimSpace(v.charCodeAt(from))) from++;
  while (to > from && isTrimSpace(v.charCodeAt(to - 1))) to--;
  return v.slice(from, to);
}

/**
 * Where the piece starting at `from` ends: the next `sep` outside quotes, or `end`. `quoted`
 * says whether `v` has a quote at all; without one (nearly always) a native search does it.
 */
function separatorAt(v: string, from: number, end: number, sep: number, quoted: boolean): number {
  if (!quoted) {
    const at = v.indexOf(sep === 0x3b ? ';' : ',', from);
    return at < 0 || at > end ? end : at;
  }
  for (let i = from; i < end; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x22) {
      const q = quotedEnd(v, i, end);
      if (q < 0) return end;
      i = q - 1;
    } else if (c === sep) return i;
  }
  return end;
}

/** Whether the parameter v[from, to) is named `name` (lower case), ignoring case and LWS. */
function paramNamed(v: string, from: number, to: number, name: string): boolean {
  const eq = v.indexOf('=', from);
  let end = eq < 0 || eq > to ? to : eq;
  while (from < end && isTrimSpace(v.charCodeAt(from))) from++;
  while (end > from && isTrimSpace(v.charCodeAt(end - 1))) end--;
  if (end - from !== name.length) return false;
  for (let i = 0; i < name.length; i++) {
    // Only ASCII letters can lower-case to the ASCII letters of `name`.
    const c = v.charCodeAt(from + i);
    const lower = c >= 0x41 && c <= 0x5a ? c | 0x20 : c;
    if (lower !== name.charCodeAt(i)) return false;
  }
  return true;
}

/** The via-parm v[from, to) with received/rport set as the source dictates. */
function rewriteTop(
  v: string,
  from: number,
  to: number,
  quoted: boolean,
  sourceIp: string,
  rport: number | undefined,
): string {
  let semi = separatorAt(v, from, to, 0x3b, quoted);
  let out = trimmed(v, from, semi);
  while (semi < to) {
    const start = semi + 1;
    semi = separatorAt(v, start, to, 0x3b, quoted);
    if (!paramNamed(v, start, semi, 'received') && !paramNamed(v, start, semi, 'rport')) {
      out += `;${trimmed(v, start, semi)}`;
    }
  }
  out += `;received=${sourceIp}`;
  return rport === undefined ? out : `${out};rport=${rport}`;
}

/** The values after the first of a Via field value, trimmed, each after ", ". */
function restOfValues(v: string, from: number, quoted: boolean): string {
  let out = '';
  let comma = from - 1;
  while (comma < v.length) {
    const start = comma + 1;
    comma = separatorAt(v, start, v.length, 0x2c, quoted);
    out += `, ${trimmed(v, start, comma)}`;
  }
  return out;
}

/**
 * Applies §18.2.1 / RFC 3581 to the top Via of an incoming request (or of a response built
 * for a request that did not parse). Returns false, and changes nothing, when there is no
 * Via that parses: such a request is answered, if at all, at its source address.
 */
export function stampReceived(m: SipMessage, source: Pick<Source, 'ip' | 'port'>): boolean {
  const vias = m.tryView('via');
  if (!vias.ok || vias.value.length === 0) return false;
  const top = vias.value[0]!;
  const sentBy = canonicalIp(unbracket(top.host));
  const needed =
    sentBy !== source.ip ||
    top.rport !== undefined ||
    (top.received !== undefined && canonicalIp(top.received) !== source.ip);
  if (!needed) return true;
  const fields = m.headers;
  let first = fields[0]!;
  for (let i = 0; i < fields.length; i++) {
    if (fields[i]!.key === 'via') {
      first = fields[i]!;
      break;
    }
  }
  const v = first.value;
  const quoted = v.indexOf('"') >= 0;
  const topEnd = separatorAt(v, 0, v.length, 0x2c, quoted);
  let rebuilt = rewriteTop(
    v,
    0,
    topEnd,
    quoted,
    source.ip,
    top.rport === undefined ? undefined : source.port,
  );
  if (topEnd < v.length) rebuilt += restOfValues(v, topEnd + 1, quoted);
  if (m.countFields('via') === 1) m.setHeader(first.name, rebuilt);
  else {
    m.removeFirstHeader('via');
    m.prependHeader(first.name, rebuilt);
  }
  const stampedVias = vias.value.slice();
  stampedVias[0] = stamped(top, source.ip, top.rport === undefined ? undefined : source.port);
  m.seedView('via', ok(stampedVias));
  return true;
}

/**
 * The top Via as parsing the text rewriteTop made would give it: the same parameters in the
 * same order without received and rport, then received, then rport when asked for.
 */
function stamped(top: Via, ip: string, rport: number | undefined): Via {
  const params = collectParams<string | null>(top.params.size + 2);
  top.params.forEach((value, name) => {
    if (name !== 'received' && name !== 'rport') params.add(name, value);
  });
  params.add('received', ip);
  if (rport !== undefined) params.add('rport', String(rport));
  return { ...top, params, received: ip, rport };
}

/**
 * RFC 3261 §18.2.2 (with RFC 3581): where the response to a request from `source` goes.
 * TCP/TLS: over the request's connection; if it has closed, a new one to the source IP at
 * the sent-by port. UDP: the source IP, at the source port when the client asked for rport,
 * else at the sent-by port (default 5060).
 */
export function responseDestination(topVia: Via | undefined, source: Source): Destination {
  const sentByPort = topVia?.port ?? defaultPort(source.transport);
  // On a stream the source port is the client's ephemeral one: a new connection goes to the
  // port it listens on (sent-by), whatever rport says.
  const viaRport = source.transport === 'udp' && topVia?.rport !== undefined;
  const port = viaRport ? source.port : sentByPort;
  // The source itself when the port is its own (rport, or a client sending from its sent-by
  // port): a Source has every field a Destination has, and neither is ever changed, so the
  // commonest answer costs no object. Otherwise built without spreads: this runs for every
  // response sent.
  if (port === source.port) return source;
  if (source.connectionId === undefined) {
    return source.local === undefined
      ? { transport: source.transport, ip: source.ip, port }
      : { transport: source.transport, ip: source.ip, port, local: source.local };
  }
  return source.local === undefined
    ? { transport: source.transport, ip: source.ip, port, connectionId: source.connectionId }
    : {
        transport: source.transport,
        ip: source.ip,
        port,
        connectionId: source.connectionId,
        local: source.local,
      };
}
