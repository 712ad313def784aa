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
import { quotedEnd } from '../message/value-scan.ts';
import type { Destination, Source, TransportName } from './types.ts';

/** RFC 3261 §19.1.2 default ports. */
export function defaultPort(transport: TransportName): number {
  return transport === 'tls' ? 5061 : 5060;
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** Splits a via-parm on ";" outside quoted strings. */
function splitParams(el: string): string[] {
  const out: string[] = [];
  let from = 0;
  for (let i = 0; i < el.length; i++) {
    const c = el.charCodeAt(i);
    if (c === 0x22) {
      const q = quotedEnd(el, i, el.length);
      if (q < 0) break;
      i = q - 1;
    } else if (c === 0x3b) {
      out.push(el.slice(from, i));
      from = i + 1;
    }
  }
  out.push(el.slice(from));
  return out;
}

/** Splits a Via field value on "," outside quoted strings (no <> in a Via). */
function splitValues(v: string): string[] {
  const out: string[] = [];
  let from = 0;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x22) {
      const q = quotedEnd(v, i, v.length);
      if (q < 0) break;
      i = q - 1;
    } else if (c === 0x2c) {
      out.push(v.slice(from, i));
      from = i + 1;
    }
  }
  out.push(v.slice(from));
  return out;
}

/** The top via-parm with received/rport set as the source dictates. */
function rewriteTop(element: string, sourceIp: string, rport: number | undefined): string {
  const parts = splitParams(element);
  const kept = [parts[0]!.trim()];
  for (const p of parts.slice(1)) {
    const name = p.split('=', 1)[0]!.trim().toLowerCase();
    if (name !== 'received' && name !== 'rport') kept.push(p.trim());
  }
  kept.push(`received=${sourceIp}`);
  if (rport !== undefined) kept.push(`rport=${rport}`);
  return kept.join(';');
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
  const first = m.headers.find((h) => h.key === 'via')!;
  const values = splitValues(first.value);
  values[0] = rewriteTop(values[0]!, source.ip, top.rport === undefined ? undefined : source.port);
  const rebuilt = values.map((v) => v.trim()).join(', ');
  if (m.headerValues('via').length === 1) m.setHeader(first.name, rebuilt);
  else {
    m.removeFirstHeader('via');
    m.prependHeader(first.name, rebuilt);
  }
  return true;
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
  // Built without spreads: this runs for every response sent.
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
