// Bookkeeping for TCP/TLS connections: the limits (total, per source IP, outbound) and the
// lookups send() needs (by id, and by transport + remote address for reuse).
import type { TransportName } from './types.ts';

export interface TrackedConnection {
  readonly id: string;
  readonly transport: TransportName;
  readonly remoteIp: string;
  readonly remotePort: number;
  readonly outbound: boolean;
}

export type Admission = 'ok' | 'connections' | 'connections_per_ip';

export class ConnectionTable<C extends TrackedConnection> {
  private readonly byId = new Map<string, C>();
  private readonly byRemote = new Map<string, C>();
  private readonly perIp = new Map<string, number>();
  /** Sockets admitted, including TLS ones still in their handshake (not yet in byId). */
  private admitted = 0;
  private outboundCount = 0;
  private nextId = 1;
  private readonly maxTotal: number;
  private readonly maxPerIp: number;
  private readonly maxOutbound: number;

  constructor(maxTotal: number, maxPerIp: number, maxOutbound: number) {
    this.maxTotal = maxTotal;
    this.maxPerIp = maxPerIp;
    this.maxOutbound = maxOutbound;
  }

  get size(): number {
    return this.admitted;
  }

  newId(transport: TransportName): string {
    return `${transport}-${this.nextId++}`;
  }

  /** Reserves a slot for a socket from `ip`; pair with release(). */
  admitIncoming(ip: string): Admission {
    if (this.admitted >= this.maxTotal) return 'connections';
    const n = this.perIp.get(ip) ?? 0;
    if (n >= this.maxPerIp) return 'connections_per_ip';
    this.perIp.set(ip, n + 1);
    this.admitted++;
    return 'ok';
  }

  /** Reserves a slot for a connection this side opens; null if allowed, else why not. */
  admitOutbound(): string | null {
    if (this.admitted >= this.maxTotal) return `${this.maxTotal} connections open`;
    if (this.outboundCount >= this.maxOutbound) {
      return `${this.maxOutbound} outbound connections open`;
    }
    this.outboundCount++;
    this.admitted++;
    return null;
  }

  releaseIncoming(ip: string): void {
    const n = (this.perIp.get(ip) ?? 1) - 1;
    if (n <= 0) this.perIp.delete(ip);
    else this.perIp.set(ip, n);
    this.admitted--;
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

  all(): C[] {
    return [...this.byId.values()];
  }
}

function remoteKey(transport: TransportName, ip: string, port: number): string {
  return `${transport} ${ip} ${port}`;
}
