// The contract between the policy code (src/control) and whatever enforces it in the
// kernel. Implementations: XDP + nftables (mode `xdp` / `xdp-generic`), nftables alone
// (`nft`), and a recording-only one (`off`, unprivileged development). IPv4 and IPv6
// addresses are accepted everywhere as strings ("10.0.0.1", "2001:db8::1").

export type DataplaneMode = 'xdp' | 'xdp-generic' | 'nft' | 'off';

/** Kernel drop reasons; the names are the keys of `stats().drops`. */
export type DropReason =
  | 'banned'
  | 'cidr_deny'
  | 'flood'
  | 'rtp_source'
  | 'rtp_unallocated'
  | 'malformed'
  | 'fragment';

export interface DataplaneStats {
  mode: DataplaneMode;
  interfaces: string[];
  drops: Record<DropReason, number>;
  passed: number;
}

/** A source that went over its per-source packet budget (emitted once per interval). */
export interface FloodEvent {
  ip: string;
  packets: number;
  at: number; // ms since epoch
}

export interface Dataplane {
  readonly mode: DataplaneMode;
  /** Drop all traffic from ip for ttlSeconds (0 = until unbanned). */
  ban(ip: string, ttlSeconds: number, reason: string): Promise<void>;
  /** Lift one ban, or every ban with 'all'. */
  unban(ipOrAll: string): Promise<void>;
  allowCidr(cidr: string): Promise<void>;
  denyCidr(cidr: string): Promise<void>;
  removeCidr(cidr: string): Promise<void>;
  /** Exempt a known source (registered endpoint, trunk) from the shared unknown-source budget. */
  trust(ip: string, ttlSeconds: number): Promise<void>;
  untrust(ip: string): Promise<void>;
  /** Let RTP/RTCP to a local media port through only from this peer ip:port. */
  openMedia(port: number, peer: { ip: string; port: number }): Promise<void>;
  closeMedia(port: number): Promise<void>;
  stats(): Promise<DataplaneStats>;
  /** Flood events, delivered on the main thread. Returns an unsubscribe function. */
  onFlood(listener: (event: FloodEvent) => void): () => void;
  close(): Promise<void>;
}

/** The kernel guard's policy (budgets, ports), computed from config by control/kernel-policy.ts. */
export type { GuardConfig } from './xdp.ts';
