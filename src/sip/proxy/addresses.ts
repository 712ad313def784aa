// Who "we" are, for the proxy: the address we put in our Via and Record-Route, and the test
// for "this URI names us" (a Route entry to pop, §16.4; a Request-URI host of ours, §16.5).
//
// The advertised address is the listening address; when that is a wildcard (0.0.0.0 / ::)
// the first non-internal interface address of the same family stands in, else loopback.
// The interface list is read once, at start: an appliance's addresses do not move while it
// runs, and a lookup per request would cost a syscall.
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

export class OwnAddresses {
  readonly #points: readonly ListenPoint[];
  readonly #ips: ReadonlySet<string>;
  readonly #ports: ReadonlySet<number>;
  readonly #fallback: { v4: string; v6: string };

  constructor(points: readonly ListenPoint[], interfaceIps: readonly string[] = localIps()) {
    this.#points = points;
    const ips = new Set<string>(['127.0.0.1', '::1']);
    for (const ip of interfaceIps) ips.add(ip);
    for (const p of points) if (!WILDCARDS.has(p.ip)) ips.add(p.ip);
    this.#ips = ips;
    this.#ports = new Set(points.map((p) => p.port));
    const external = interfaceIps.filter((ip) => ip !== '127.0.0.1' && ip !== '::1');
    this.#fallback = {
      v4: external.find((ip) => !ip.includes(':')) ?? '127.0.0.1',
      v6: external.find((ip) => ip.includes(':')) ?? '::1',
    };
  }

  /** Where peers reach us over `transport` (for Via sent-by and Record-Route). */
  advertised(transport: TransportName): AdvertisedAddress {
    const point =
      this.#points.find((p) => p.transport === transport) ??
      this.#points.find((p) => p.transport === 'udp') ??
      this.#points[0];
    if (point === undefined) return { host: '127.0.0.1', port: 5060 };
    let ip = point.ip;
    if (WILDCARDS.has(ip)) ip = ip === '::' ? this.#fallback.v6 : this.#fallback.v4;
    return { host: bracket(ip), port: point.port };
  }

  /** An IP address of this machine (any interface, or the listening address). */
  isOwnIp(host: string): boolean {
    const ip = canonicalIp(unbracket(host));
    return ip !== null && this.#ips.has(ip);
  }

  /**
   * A SIP URI naming this proxy: one of our IPs, at one of our ports (5060 when none is
   * given, §19.1.2). Domain names are not resolved: a domain is ours when it is served.
   */
  isUs(uri: SipUri): boolean {
    return uri.hostType !== 'domain' && this.isOwnIp(uri.host) && this.#ports.has(uri.port ?? 5060);
  }

  /** A Via sent-by that is ours (loop detection, §16.3 step 4). */
  isOwnSentBy(host: string, port: number | undefined): boolean {
    return this.isOwnIp(host) && this.#ports.has(port ?? 5060);
  }
}

function localIps(): string[] {
  const out: string[] = [];
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) {
      const ip = canonicalIp(a.address.split('%')[0]!);
      if (ip !== null) out.push(ip);
    }
  }
  return out;
}
