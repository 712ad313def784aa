// Bookkeeping for TCP/TLS connections: the limits (total, per source address, per /24 or /64,
// outbound), the choice of which connection to evict when the total is reached, and the
// lookups send() needs (by id, and by transport + remote address for reuse).
//
// Every incoming socket holds a Slot from accept to close, TLS handshake included, so a
// client that never finishes its handshake occupies (and can lose) a slot like any other.
//
// At the total cap a newcomer does not simply bounce (that lets whoever fills the table
// first keep everyone else out, the way a slowloris holds a web server): the least valuable
// connection makes room. Value, lowest first:
//   0 unproven       no complete message yet (idle since accept, slow, or mid-handshake)
//   1 talking        sends messages, never authenticated
//   2 authenticated  its source passed digest authentication
//   3 registered     it carries a live registration (RFC 5626 flows, NAT'd phones)
// Within a value: the one whose /24 (IPv4) or /64 (IPv6) holds the most connections, then
// whose address does, then the one silent longest. A newcomer may only evict a connection
// that never authenticated (values 0 and 1): one that did is worth more than a stranger, so
// with only those left the newcomer is refused. The scan is linear, and only runs at the cap.
import type { TransportName } from './types.ts';

export interface TrackedConnection {
  readonly id: string;
  readonly transport: TransportName;
  readonly remoteIp: string;
  readonly remotePort: number;
  readonly outbound: boolean;
}

export type Refusal = 'connections' | 'connections_per_ip' | 'connections_per_subnet';

export const Value = { Unproven: 0, Talking: 1, Authenticated: 2, Registered: 3 } as const;
export type Value = (typeof Value)[keyof typeof Value];

/** What eviction needs to know of a connection; the transports fill it in. */
export interface Occupant {
  readonly transport: TransportName;
  readonly remotePort: number;
  value(now: number): Value;
  /** When the peer last sent anything (ms, the table's clock). */
  lastHeard(): number;
  /** Ends the socket at once (its slot is already released). */
  evict(): void;
}

/** One incoming socket's place in the table. */
export class Slot {
  readonly ip: string;
  readonly subnet: string;
  readonly acceptedAt: number;
  occupant: Occupant | undefined;
  released = false;

  constructor(ip: string, subnet: string, acceptedAt: number) {
    this.ip = ip;
    this.subnet = subnet;
    this.acceptedAt = acceptedAt;
  }
}

export type Admission =
  | { readonly ok: true; readonly slot: Slot; readonly evicted?: Slot }
  | { readonly ok: false; readonly refusal: Refusal };

export interface TableLimits {
  readonly maxTotal: number;
  readonly maxPerIp: number;
  /** 0 = no limit per /24 or /64. */
  readonly maxPerSubnet: number;
  readonly maxOutbound: number;
  /** At the total cap, evict the least valuable never-authenticated connection. */
  readonly evict: boolean;
}

export class ConnectionTable<C extends TrackedConnection> {
  private readonly byId = new Map<string, C>();
  private readonly byRemote = new Map<string, C>();
  private readonly perIp = new Map<string, number>();
  private readonly perSubnet = new Map<string, number>();
  private readonly slots = new Set<Slot>();
  /** Sockets admitted in both directions, including TLS ones still in their handshake. */
  private admitted = 0;
  private outboundCount = 0;
  private nextId = 1;
  private readonly limits: TableLimits;

  constructor(limits: TableLimits) {
    this.limits = limits;
  }

  get size(): number {
    return this.admitted;
  }

  newId(transport: TransportName): string {
    return `${transport}-${this.nextId++}`;
  }

  /**
   * Reserves a slot for a socket from `ip`, evicting another when the total is reached (the
   * evicted slot is released here; the caller ends its socket). Pair with release().
   */
  admitIncoming(ip: string, now: number): Admission {
    const l = this.limits;
    if ((this.perIp.get(ip) ?? 0) >= l.maxPerIp)
      return { ok: false, refusal: 'connections_per_ip' };
    const subnet = subnetOf(ip);
    if (l.maxPerSubnet > 0 && (this.perSubnet.get(subnet) ?? 0) >= l.maxPerSubnet) {
      return { ok: false, refusal: 'connections_per_subnet' };
    }
    let evicted: Slot | undefined;
    if (this.admitted >= l.maxTotal) {
      evicted = l.evict ? this.victim(now) : undefined;
      if (evicted === undefined) return { ok: false, refusal: 'connections' };
      this.release(evicted);
    }
    const slot = new Slot(ip, subnet, now);
    this.slots.add(slot);
    this.perIp.set(ip, (this.perIp.get(ip) ?? 0) + 1);
    this.perSubnet.set(subnet, (this.perSubnet.get(subnet) ?? 0) + 1);
    this.admitted++;
    return evicted === undefined ? { ok: true, slot } : { ok: true, slot, evicted };
  }

  /** Frees an incoming slot; a second call (eviction, then the socket's close) does nothing. */
  release(slot: Slot): void {
    if (slot.released) return;
    slot.released = true;
    this.slots.delete(slot);
    decrement(this.perIp, slot.ip);
    decrement(this.perSubnet, slot.subnet);
    this.admitted--;
  }

  /** The slot to evict for a newcomer, or undefined when every one has authenticated. */
  private victim(now: number): Slot | undefined {
    let best: Slot | undefined;
    let bestValue: number = Value.Authenticated;
    let bestSubnet = 0;
    let bestIp = 0;
    let bestHeard = 0;
    for (const s of this.slots) {
      const o = s.occupant;
      const value = o === undefined ? Value.Unproven : o.value(now);
      if (value >= Value.Authenticated) continue;
      const subnet = this.perSubnet.get(s.subnet) ?? 0;
      const ip = this.perIp.get(s.ip) ?? 0;
      const heard = o === undefined ? s.acceptedAt : o.lastHeard();
      if (
        best === undefined ||
        value < bestValue ||
        (value === bestValue &&
          (subnet > bestSubnet ||
            (subnet === bestSubnet && (ip > bestIp || (ip === bestIp && heard < bestHeard)))))
      ) {
        best = s;
        bestValue = value;
        bestSubnet = subnet;
        bestIp = ip;
        bestHeard = heard;
      }
    }
    return best;
  }

  /** Reserves a slot for a connection this side opens; null if allowed, else why not. */
  admitOutbound(): string | null {
    if (this.admitted >= this.limits.maxTotal) return `${this.limits.maxTotal} connections open`;
    if (this.outboundCount >= this.limits.maxOutbound) {
      return `${this.limits.maxOutbound} outbound connections open`;
    }
    this.outboundCount++;
    this.admitted++;
    return null;
  }

  releaseOutbound(): void {
    this.outboundCount--;
    this.admitted--;
  }

  add(c: C): void {
    this.byId.set(c.id, c);
    this.byRemote.set(remoteKey(c.transport, c.remoteIp, c.remotePort), c);
  }

  remove(c: C): void {
    this.byId.delete(c.id);
    const key = remoteKey(c.transport, c.remoteIp, c.remotePort);
    if (this.byRemote.get(key) === c) this.byRemote.delete(key);
  }

  get(id: string): C | undefined {
    return this.byId.get(id);
  }

  findRemote(transport: TransportName, ip: string, port: number): C | undefined {
    return this.byRemote.get(remoteKey(transport, ip, port));
  }

  /** Open connections from `ip` on any transport (to mark them authenticated, say). */
  fromAddress(ip: string, port: number): C[] {
    const out: C[] = [];
    for (const t of ['tcp', 'tls'] as const) {
      const c = this.byRemote.get(remoteKey(t, ip, port));
      if (c !== undefined) out.push(c);
    }
    return out;
  }

  all(): C[] {
    return [...this.byId.values()];
  }
}

function decrement(map: Map<string, number>, key: string): void {
  const n = (map.get(key) ?? 1) - 1;
  if (n <= 0) map.delete(key);
  else map.set(key, n);
}

function remoteKey(transport: TransportName, ip: string, port: number): string {
  return `${transport} ${ip} ${port}`;
}

/**
 * The network an address is counted in: its /24 for IPv4, its /64 for IPv6 (one customer's
 * allocation: RFC 6177 gives a site at least a /64, and an attacker with one holds all of
 * it). `ip` is canonical (src/ip.ts).
 */
export function subnetOf(ip: string): string {
  if (!ip.includes(':')) return `${ip.slice(0, ip.lastIndexOf('.'))}.0/24`;
  const [head = '', tail] = ip.split('::');
  const h = head === '' ? [] : head.split(':');
  const t = tail === undefined || tail === '' ? [] : tail.split(':');
  const groups =
    tail === undefined ? h : [...h, ...Array<string>(8 - h.length - t.length).fill('0'), ...t];
  return `${groups.slice(0, 4).join(':')}::/64`;
}
