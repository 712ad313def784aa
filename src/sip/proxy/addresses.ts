// Who "we" are, for the proxy: the address we put in our Via and Record-Route, and the test
// for "this URI names us" (a Route entry to pop, §16.4; a Request-URI host of ours, §16.5).
//
// The advertised address is the listening address. When that is a wildcard (0.0.0.0 / ::)
// it is the address of the interface that faces the peer: the one whose subnet holds the
// peer's address (the peer reaches us there), loopback for a loopback peer, else the first
// non-internal interface address of the peer's family. A proxy between two networks thus
// puts a different address on each side, and the Record-Route is doubled (record-route.ts).
// The interface list is read once, at start: an appliance's addresses do not move while it
// runs, and a lookup per request would cost a syscall.
import { BlockList } from 'node:net';
import { networkInterfaces } from 'node:os';
import { canonicalIp } from '../../ip.ts';
import type { SipUri } from '../message/index.ts';
import type { TransportName } from '../transaction/index.ts';

export interface ListenPoint {
  readonly transport: TransportName;
  readonly ip: string;
  readonly port: number;
}

export interface AdvertisedAddress {
  /** IP as it goes in a URI or Via sent-by (IPv6 in brackets). */
  readonly host: string;
  readonly port: number;
}

const WILDCARDS = new Set(['0.0.0.0', '::']);

function bracket(ip: string): string {
  return ip.includes(':') ? `[${ip}]` : ip;
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

const isV6 = (ip: string) => ip.includes(':');
const isLoopback = (ip: string) => ip === '::1' || ip.startsWith('127.');

/** An interface address and the subnet it is on ("10.0.0.1/24"; a bare IP is a /32 or /128). */
interface InterfaceAddress {
  readonly ip: string;
  readonly subnet: BlockList;
}

function interfaceAddress(entry: string): InterfaceAddress | undefined {
  const [text, prefixText] = entry.split('/');
  const ip = canonicalIp(text ?? '');
  if (ip === null) return undefined;
  const family = isV6(ip) ? 'ipv6' : 'ipv4';
  const max = family === 'ipv6' ? 128 : 32;
  const prefix = prefixText === undefined ? max : Number(prefixText);
  const subnet = new BlockList();
  subnet.addSubnet(
    ip,
    Number.isInteger(prefix) && prefix >= 0 && prefix <= max ? prefix : max,
    family,
  );
  return { ip, subnet };
}

export class OwnAddresses {
  readonly #points: readonly ListenPoint[];
  readonly #ips: ReadonlySet<string>;
  readonly #ports: ReadonlySet<number>;
  readonly #interfaces: readonly InterfaceAddress[];
  readonly #fallback: { v4: string; v6: string };

  /**
   * @param interfaces this machine's addresses, "ip" or "ip/prefix" (default: read from the
   *   system); the prefix lets a wildcard listener pick the address facing a peer.
   */
  constructor(points: readonly ListenPoint[], interfaces: readonly string[] = localInterfaces()) {
    this.#points = points;
    const list = interfaces.map(interfaceAddress).filter((a) => a !== undefined);
    this.#interfaces = list;
    const ips = new Set<string>(['127.0.0.1', '::1']);
    for (const a of list) ips.add(a.ip);
    for (const p of points) if (!WILDCARDS.has(p.ip)) ips.add(p.ip);
    this.#ips = ips;
    this.#ports = new Set(points.map((p) => p.port));
    const external = list.map((a) => a.ip).filter((ip) => !isLoopback(ip));
    this.#fallback = {
      v4: external.find((ip) => !isV6(ip)) ?? '127.0.0.1',
      v6: external.find(isV6) ?? '::1',
    };
  }

  /** The listening point for `transport` (UDP's, else the first, when it has none). */
  #point(transport: TransportName): ListenPoint | undefined {
    return (
      this.#points.find((p) => p.transport === transport) ??
      this.#points.find((p) => p.transport === 'udp') ??
      this.#points[0]
    );
  }

  /** Whether we listen on `transport` at all (a TLS Record-Route needs a TLS port). */
  listensOn(transport: TransportName): boolean {
    return this.#points.some((p) => p.transport === transport);
  }

  /**
   * Where a peer reaches us over `transport` (Via sent-by, Record-Route). With `peerIp`, a
   * wildcard listener answers with the address of the interface facing that peer.
   */
  advertised(transport: TransportName, peerIp?: string): AdvertisedAddress {
    const point = this.#point(transport);
    if (point === undefined) return { host: '127.0.0.1', port: 5060 };
    let ip = point.ip;
    if (WILDCARDS.has(ip)) ip = this.#facing(ip, peerIp);
    return { host: bracket(ip), port: point.port };
  }

  #facing(wildcard: string, peerIp: string | undefined): string {
    const peer = peerIp === undefined ? null : canonicalIp(peerIp);
    // '0.0.0.0' reaches IPv4 peers only; '::' (dual stack) both families.
    const v6 = peer === null ? wildcard === '::' : isV6(peer);
    if (peer !== null) {
      if (isLoopback(peer)) return v6 ? '::1' : '127.0.0.1';
      const family = v6 ? 'ipv6' : 'ipv4';
      for (const a of this.#interfaces)
        if (isV6(a.ip) === v6 && !isLoopback(a.ip) && a.subnet.check(peer, family)) return a.ip;
    }
    return v6 ? this.#fallback.v6 : this.#fallback.v4;
  }

  /** An IP address of this machine (any interface, or the listening address). */
  isOwnIp(host: string): boolean {
    const ip = canonicalIp(unbracket(host));
    return ip !== null && this.#ips.has(ip);
  }

  /**
   * A SIP URI naming this proxy: one of our IPs, at one of our ports (5060, or 5061 for
   * sips:, when none is given, §19.1.2). Domain names are not resolved: a domain is ours when
   * it is served.
   */
  isUs(uri: SipUri): boolean {
    const port = uri.port ?? (uri.scheme === 'sips' ? 5061 : 5060);
    return uri.hostType !== 'domain' && this.isOwnIp(uri.host) && this.#ports.has(port);
  }

  /** A Via sent-by that is ours (loop detection, §16.3 step 4). */
  isOwnSentBy(host: string, port: number | undefined): boolean {
    return this.isOwnIp(host) && this.#ports.has(port ?? 5060);
  }
}

function localInterfaces(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      const ip = canonicalIp(a.address.split('%')[0]!);
      if (ip !== null) out.push(a.cidr === null ? ip : `${ip}/${a.cidr.split('/')[1]}`);
    }
  }
  return out;
}
