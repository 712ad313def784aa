// The contract between the policy code (src/control) and whatever enforces it in the
// kernel. Implementations: XDP + nftables (mode `xdp` / `xdp-generic`), nftables alone
// (`nft`), and a recording-only one (`off`, unprivileged development). IPv4 and IPv6
// addresses are accepted everywhere as strings ("10.0.0.1", "2001:db8::1").
//
// The types shared with the policy side (GuardConfig: what src/control/kernel-policy.ts
// computes from the config) live here too, so policy never imports an implementation.

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

export const DROP_REASONS: readonly DropReason[] = [
  'banned',
  'cidr_deny',
  'flood',
  'rtp_source',
  'rtp_unallocated',
  'malformed',
  'fragment',
];

/** Which kernel layer a figure was read from. */
export type CounterSource = 'xdp' | 'nft';

/**
 * One shape in every mode: `drops` always has every reason, `counters` says which kernel
 * layers the figures were read from ([] in mode off) and `counted` which reasons this mode
 * can count at all (a reason not in it is 0 because nothing counts it, not because nothing
 * happened).
 */
export interface DataplaneStats {
  mode: DataplaneMode;
  counters: CounterSource[];
  counted: DropReason[];
  interfaces: string[];
  drops: Record<DropReason, number>;
  /** Bytes of those drops, where the layer counts them (XDP); absent otherwise. */
  dropBytes?: Record<DropReason, number>;
  passed: number;
}

/** How one interface is protected right now, as read back from the kernel. */
export type InterfaceMode = 'xdp' | 'xdp-generic' | 'nft' | 'none';

export interface InterfaceState {
  name: string;
  mode: InterfaceMode;
  /** Why this mode (fallback reason, "bridge: XDP is on its ports", "excluded by ..."). */
  reason: string;
  up: boolean;
}

/** What `status` shows: read from the kernel when asked, never a remembered flag. */
export interface DataplaneState {
  mode: DataplaneMode;
  /** True when the kernel holds this daemon's drop rules (XDP program or nft tables). */
  enforcing: boolean;
  reason: string;
  /** The daemon owning the kernel dataplane of this network namespace. */
  owner: { pid: number; dataDir: string } | null;
  /** Every interface of the namespace with its mode and the reason. */
  interfaces: InterfaceState[];
  /** The nftables tables present (e.g. ['inet tollgate', 'netdev tollgate']); null = no nft layer. */
  nftTables: string[] | null;
  /** Times kernel state was found removed or changed and restored since start. */
  restores: number;
}

/** A source that went over its per-source packet budget (emitted once per interval). */
export interface FloodEvent {
  ip: string;
  packets: number;
  at: number; // ms since epoch
}

/** Policy knobs of the XDP guard in operator units (src/control/kernel-policy.ts fills them). */
export interface GuardConfig {
  /** UDP/TCP ports that get the per-source budget (SIP, SIPS, WebSocket). At most 8. */
  signalingPorts: number[];
  /** Local RTP/RTCP port range, inclusive; null = no media checks. */
  mediaPorts: { min: number; max: number } | null;
  /**
   * The media range gate (checkrtpaddr 1, 2): UDP to a port of mediaPorts that no relay leg
   * holds is dropped (rtp_unallocated). Which sources a leg accepts is per leg (RelayLeg).
   */
  checkRtpAddr: boolean;
  /** Drop non-first fragments (they carry no ports). Off: they pass after the address checks. */
  dropFragments: boolean;
  /** Per-source signaling budget in packets/s; 0 = no per-source budget. */
  sourceRatePps: number;
  /** Per-source bucket depth in packets. */
  sourceBurst: number;
  /** maxnetworkspeed in kbit/s: the shared budget of unknown sources; 0 = none. */
  maxNetworkSpeedKbps: number;
  /** At most one flood event per source per this many ms. */
  floodEventIntervalMs: number;
}

// ---- media relay (the API src/sip/media builds on) ----
//
// A call's media goes through two relay ports per stream direction pair: the caller talks
// to relay port A, the callee to relay port B. Each port is one RelayLeg: what arrives on A
// from the caller is sent from B to the callee, and the reverse leg on B sends from A to the
// caller. The userspace relay (src/sip/media) binds the ports, writes the SDP, latches the
// first packet (checkrtpaddr) and programs both legs:
//
//   await dp.openRelay({ localPort: A, forwardFrom: { ip: relayIp, port: B },
//                        forwardTo: callee, expectedPeer: caller });   // latched / from SDP
//   await dp.openRelay({ localPort: B, forwardFrom: { ip: relayIp, port: A },
//                        forwardTo: caller, expectedPeer: callee });
//   ...
//   const final = await dp.closeRelay(A);   // and B; the ports then drop everything
//
// In XDP mode (kernelForwarding) the kernel rewrites and sends a packet from expectedPeer
// itself (XDP_TX or redirect, next hop from the FIB) and the socket on A never sees it;
// without expectedPeer every packet goes up to the socket so userspace can latch, then
// calls openRelay again with expectedPeer set. In nft mode the kernel only filters: from
// expectedPeer accepted, from others dropped (otherSources 'drop') or let up; userspace
// forwards. The kernel forwards only when the packet and forwardTo are the same family
// (a v4<->v6 leg is relayed in userspace).

export interface Endpoint {
  ip: string;
  port: number;
}

export interface RelayLeg {
  /** Local UDP port the media arrives on; inside mediaportmin..mediaportmax. */
  localPort: number;
  /**
   * The only source accepted (checkrtpaddr 2: from the SDP; 1: the first packet's source).
   * Absent/null: not latched yet: every packet goes up to the userspace socket.
   */
  expectedPeer?: Endpoint | null;
  /**
   * A packet from another source once expectedPeer is set: 'drop' (default; checkrtpaddr
   * 1 and 2: dropped and counted per port) or 'userspace' (checkrtpaddr 0: let up to the
   * socket so the relay may learn the new source).
   */
  otherSources?: 'drop' | 'userspace';
  /** The other party: destination of the forwarded packet. */
  forwardTo: Endpoint;
  /** Our own address and relay port facing the other party: source of the forwarded packet. */
  forwardFrom: Endpoint;
}

/** Per-leg counters (kernel figures; in nft mode "forwarded" = accepted up to userspace). */
export interface RelayCounters {
  forwardedPackets: number;
  forwardedBytes: number;
  /** From a source other than expectedPeer, dropped. */
  droppedPackets: number;
  /** Let up to the userspace socket (not latched, other source with 'userspace', slow path). */
  userspacePackets: number;
}

export type AttachMode = 'auto' | 'native' | 'generic';
export type AttachedMode = 'xdp' | 'xdp-generic';

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
  /**
   * True when openRelay makes the kernel forward the leg's media itself (mode xdp /
   * xdp-generic): the userspace relay then sees only what the kernel passes up (packets
   * before latching, a v4<->v6 leg, fragments, a next hop without a neighbour entry yet).
   * False (nft, off): the userspace relay forwards every packet; the kernel (nft) only
   * filters sources.
   */
  readonly kernelForwarding: boolean;
  /** Programs one relay leg (see RelayLeg); calling it again for the port updates it. */
  openRelay(leg: RelayLeg): Promise<void>;
  /** Unprograms the leg: the port then drops everything. Returns its final counters. */
  closeRelay(localPort: number): Promise<RelayCounters | null>;
  /** The leg's counters since openRelay first opened it; null when the port is not open. */
  relayCounters(localPort: number): Promise<RelayCounters | null>;
  /** A new kernel guard policy (budgets, ports): a no-op where the mode has no guard. */
  applyGuardPolicy(policy: Partial<GuardConfig>): Promise<void>;
  stats(): Promise<DataplaneStats>;
  /** What the kernel holds now (read back, not remembered). */
  state(): Promise<DataplaneState>;
  /** Flood events, delivered on the main thread. Returns an unsubscribe function. */
  onFlood(listener: (event: FloodEvent) => void): () => void;
  close(): Promise<void>;
}

export function noDrops(): Record<DropReason, number> {
  return Object.fromEntries(DROP_REASONS.map((r) => [r, 0])) as Record<DropReason, number>;
}
