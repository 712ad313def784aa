// The userspace mirror of bpf/tollgate.h: map names, reason codes, struct sizes and member
// offsets, and the encoders/decoders built on them. Hand-written, and checked against the
// BTF of the compiled object by tests/dataplane/layout.test.ts: names here are the C names
// so that the check is a plain comparison. Change tollgate.h and this file together.
import type { DropReason } from './types.ts';

export const PROG_NAME = 'tollgate_xdp';

export const MAP_NAMES = {
  config: 'tg_config',
  stats: 'tg_stats',
  allowV4: 'tg_allow_v4',
  allowV6: 'tg_allow_v6',
  denyV4: 'tg_deny_v4',
  denyV6: 'tg_deny_v6',
  bannedV4: 'tg_banned_v4',
  bannedV6: 'tg_banned_v6',
  trusted: 'tg_trusted',
  buckets: 'tg_buckets',
  global: 'tg_global',
  media: 'tg_media',
  mediaStats: 'tg_media_stats',
  events: 'tg_events',
  cidrHint: 'tg_cidr_hint',
} as const;

export const MAX_SIG_PORTS = 8;

/** TG_CIDR_HINT_WORDS: 2 bits per IPv4 /24, 32 blocks per u64 word. */
export const TG_CIDR_HINT_WORDS = 1 << 19;

/** enum tg_cidr_hint_bit. */
export const TG_CIDR_HINT_BIT = {
  TG_HINT_ALLOW: 1,
  TG_HINT_DENY: 2,
} as const;

/** enum tg_reason: verdict reasons (index into tg_stats) and event counters. */
export const TG_REASON = {
  TG_R_DEFAULT: 0,
  TG_R_NON_IP: 1,
  TG_R_ALLOW_CIDR: 2,
  TG_R_TRUSTED: 3,
  TG_R_SIGNALING: 4,
  TG_R_RTP_PEER: 5,
  TG_R_FRAGMENT_PASS: 6,
  TG_R_OTHER_PROTO: 7,
  TG_R_RTP_USERSPACE: 8,
  TG_R_RTP_NO_NEIGH: 9,
  TG_R_RTP_FWD_OFF: 10,
  TG_R_RTP_NO_ROUTE: 11,
  TG_R_RTP_FORWARD: 12,
  TG_R_FIRST_DROP: 16,
  TG_R_MALFORMED: 16,
  TG_R_CIDR_DENY: 17,
  TG_R_BANNED: 18,
  TG_R_FLOOD: 19,
  TG_R_FLOOD_GLOBAL: 20,
  TG_R_RTP_SOURCE: 21,
  TG_R_RTP_UNALLOCATED: 22,
  TG_R_FRAGMENT: 23,
  TG_C_BAN_EXPIRED: 28,
  TG_C_TRUST_EXPIRED: 29,
  TG_C_EVENT_SENT: 30,
  TG_C_EVENT_LOST: 31,
  TG_STATS_SLOTS: 32,
} as const;

/** enum tg_config_flag. */
export const TG_CONFIG_FLAG = {
  TG_CFG_DROP_FRAGMENTS: 1,
  TG_CFG_CHECK_RTP: 2,
} as const;

/** enum tg_media_flag. */
export const TG_MEDIA_FLAG = {
  TG_MEDIA_PEER: 1,
  TG_MEDIA_STRICT: 2,
  TG_MEDIA_FORWARD: 4,
  TG_MEDIA_FWD_V6: 8,
} as const;

/** enum tg_event_type. */
export const TG_EVENT_TYPE = {
  TG_EV_FLOOD: 1,
} as const;

/** Counter slots by the names operators see (stats, `tollgatectl stats --json`). */
export const COUNTER_SLOTS = {
  default: TG_REASON.TG_R_DEFAULT,
  non_ip: TG_REASON.TG_R_NON_IP,
  allow_cidr: TG_REASON.TG_R_ALLOW_CIDR,
  trusted: TG_REASON.TG_R_TRUSTED,
  signaling: TG_REASON.TG_R_SIGNALING,
  rtp_peer: TG_REASON.TG_R_RTP_PEER,
  fragment_pass: TG_REASON.TG_R_FRAGMENT_PASS,
  other_proto: TG_REASON.TG_R_OTHER_PROTO,
  rtp_userspace: TG_REASON.TG_R_RTP_USERSPACE,
  rtp_no_neigh: TG_REASON.TG_R_RTP_NO_NEIGH,
  rtp_fwd_off: TG_REASON.TG_R_RTP_FWD_OFF,
  rtp_no_route: TG_REASON.TG_R_RTP_NO_ROUTE,
  rtp_forward: TG_REASON.TG_R_RTP_FORWARD,
  malformed: TG_REASON.TG_R_MALFORMED,
  cidr_deny: TG_REASON.TG_R_CIDR_DENY,
  banned: TG_REASON.TG_R_BANNED,
  flood: TG_REASON.TG_R_FLOOD,
  flood_global: TG_REASON.TG_R_FLOOD_GLOBAL,
  rtp_source: TG_REASON.TG_R_RTP_SOURCE,
  rtp_unallocated: TG_REASON.TG_R_RTP_UNALLOCATED,
  fragment: TG_REASON.TG_R_FRAGMENT,
  ban_expired: TG_REASON.TG_C_BAN_EXPIRED,
  trust_expired: TG_REASON.TG_C_TRUST_EXPIRED,
  event_sent: TG_REASON.TG_C_EVENT_SENT,
  event_lost: TG_REASON.TG_C_EVENT_LOST,
} as const;

export type CounterName = keyof typeof COUNTER_SLOTS;

export const PASS_COUNTERS: readonly CounterName[] = [
  'default',
  'non_ip',
  'allow_cidr',
  'trusted',
  'signaling',
  'rtp_peer',
  'fragment_pass',
  'other_proto',
  'rtp_userspace',
  'rtp_no_neigh',
  'rtp_fwd_off',
  'rtp_no_route',
];

/** Sent on by the kernel relay (XDP_TX / redirect): neither passed nor dropped. */
export const FORWARD_COUNTERS: readonly CounterName[] = ['rtp_forward'];

/** Kernel counters that add up to each DropReason of the Dataplane interface. */
export const DROP_COUNTERS: Record<DropReason, readonly CounterName[]> = {
  banned: ['banned'],
  cidr_deny: ['cidr_deny'],
  flood: ['flood', 'flood_global'],
  rtp_source: ['rtp_source'],
  rtp_unallocated: ['rtp_unallocated'],
  malformed: ['malformed'],
  fragment: ['fragment'],
};

/** Struct sizes and member byte offsets, as in tollgate.h (checked against BTF). */
export const STRUCTS = {
  tg_counter: { size: 16, members: { packets: 0, bytes: 8 } },
  tg_config: {
    size: 56,
    members: {
      sig_ports: 0,
      media_port_min: 16,
      media_port_max: 18,
      flags: 20,
      src_rate_pps: 24,
      src_burst: 28,
      global_rate_bps: 32,
      global_burst_bytes: 40,
      event_interval_ns: 48,
    },
  },
  tg_lpm_v4: { size: 8, members: { prefixlen: 0, addr: 4 } },
  tg_lpm_v6: { size: 20, members: { prefixlen: 0, addr: 4 } },
  tg_addr: { size: 16, members: { addr: 0 } },
  tg_ban: { size: 8, members: { expires_ns: 0 } },
  tg_trust: { size: 8, members: { expires_ns: 0 } },
  tg_bucket: { size: 24, members: { tat_ns: 0, last_event_ns: 8, dropped: 16, pad: 20 } },
  tg_global_bucket: { size: 8, members: { tat_ns: 0 } },
  tg_media: {
    size: 56,
    members: {
      peer_addr: 0,
      peer_port: 16,
      active: 18,
      flags: 19,
      fwd_sport: 20,
      fwd_dport: 22,
      fwd_src: 24,
      fwd_dst: 40,
    },
  },
  tg_media_counter: {
    size: 32,
    members: { fwd_packets: 0, fwd_bytes: 8, dropped: 16, userspace: 24 },
  },
  tg_event: { size: 32, members: { type: 0, dropped: 4, ts_ns: 8, addr: 16 } },
} as const;

const S = STRUCTS;

/** Userspace view of struct tg_config (ports in host order; converted here). */
export interface XdpConfig {
  signalingPorts: number[];
  mediaPortMin: number;
  mediaPortMax: number;
  dropFragments: boolean;
  checkRtp: boolean;
  sourceRatePps: number;
  sourceBurst: number;
  globalRateBytesPerSec: bigint;
  globalBurstBytes: bigint;
  eventIntervalNs: bigint;
}

export function encodeConfig(cfg: XdpConfig): Uint8Array {
  const m = S.tg_config.members;
  const out = new Uint8Array(S.tg_config.size);
  const view = new DataView(out.buffer);
  cfg.signalingPorts.slice(0, MAX_SIG_PORTS).forEach((port, i) => {
    view.setUint16(m.sig_ports + i * 2, port, false); // network order
  });
  view.setUint16(m.media_port_min, cfg.mediaPortMin, true);
  view.setUint16(m.media_port_max, cfg.mediaPortMax, true);
  let flags = 0;
  if (cfg.dropFragments) flags |= TG_CONFIG_FLAG.TG_CFG_DROP_FRAGMENTS;
  if (cfg.checkRtp) flags |= TG_CONFIG_FLAG.TG_CFG_CHECK_RTP;
  view.setUint32(m.flags, flags, true);
  view.setUint32(m.src_rate_pps, cfg.sourceRatePps, true);
  view.setUint32(m.src_burst, cfg.sourceBurst, true);
  view.setBigUint64(m.global_rate_bps, cfg.globalRateBytesPerSec, true);
  view.setBigUint64(m.global_burst_bytes, cfg.globalBurstBytes, true);
  view.setBigUint64(m.event_interval_ns, cfg.eventIntervalNs, true);
  return out;
}

/** struct tg_ban / struct tg_trust: one u64 expiry (monotonic ns, 0 = forever). */
export function encodeExpiry(expiresNs: bigint): Uint8Array {
  const out = new Uint8Array(S.tg_ban.size);
  new DataView(out.buffer).setBigUint64(S.tg_ban.members.expires_ns, expiresNs, true);
  return out;
}

export function decodeExpiry(bytes: Uint8Array): bigint {
  return new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(0, true);
}

export function encodeLpmKey(family: 4 | 6, prefix: number, addr: Uint8Array): Uint8Array {
  const size = family === 4 ? S.tg_lpm_v4.size : S.tg_lpm_v6.size;
  const out = new Uint8Array(size);
  new DataView(out.buffer).setUint32(0, prefix, true);
  out.set(addr, S.tg_lpm_v4.members.addr);
  return out;
}

/** struct tg_media: one relay leg (all-zero = port not allocated). */
export interface MediaEntry {
  /** Expected source, 16 bytes (v4 mapped); null = not latched. */
  peer: { mapped: Uint8Array; port: number } | null;
  strict: boolean;
  /** Forwarding in the kernel: our address/port facing the other party, and the other party. */
  forward: { v6: boolean; src: Uint8Array; sport: number; dst: Uint8Array; dport: number } | null;
}

export function encodeMedia(entry: MediaEntry): Uint8Array {
  const m = S.tg_media.members;
  const out = new Uint8Array(S.tg_media.size);
  const view = new DataView(out.buffer);
  let flags = 0;
  if (entry.peer !== null) {
    out.set(entry.peer.mapped, m.peer_addr);
    view.setUint16(m.peer_port, entry.peer.port, false);
    flags |= TG_MEDIA_FLAG.TG_MEDIA_PEER;
  }
  if (entry.strict) flags |= TG_MEDIA_FLAG.TG_MEDIA_STRICT;
  if (entry.forward !== null) {
    const f = entry.forward;
    flags |= TG_MEDIA_FLAG.TG_MEDIA_FORWARD;
    if (f.v6) flags |= TG_MEDIA_FLAG.TG_MEDIA_FWD_V6;
    out.set(f.src, m.fwd_src);
    out.set(f.dst, m.fwd_dst);
    view.setUint16(m.fwd_sport, f.sport, false);
    view.setUint16(m.fwd_dport, f.dport, false);
  }
  out[m.active] = 1;
  out[m.flags] = flags;
  return out;
}

/** struct tg_media_counter. */
export interface MediaCounter {
  fwdPackets: bigint;
  fwdBytes: bigint;
  dropped: bigint;
  userspace: bigint;
}

export function decodeMediaCounter(bytes: Uint8Array): MediaCounter {
  const m = S.tg_media_counter.members;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    fwdPackets: view.getBigUint64(m.fwd_packets, true),
    fwdBytes: view.getBigUint64(m.fwd_bytes, true),
    dropped: view.getBigUint64(m.dropped, true),
    userspace: view.getBigUint64(m.userspace, true),
  };
}

export interface BucketState {
  tatNs: bigint;
  lastEventNs: bigint;
  dropped: number;
}

export function decodeBucket(bytes: Uint8Array): BucketState {
  const m = S.tg_bucket.members;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    tatNs: view.getBigUint64(m.tat_ns, true),
    lastEventNs: view.getBigUint64(m.last_event_ns, true),
    dropped: view.getUint32(m.dropped, true),
  };
}

export function encodeBucket(state: BucketState): Uint8Array {
  const m = S.tg_bucket.members;
  const out = new Uint8Array(S.tg_bucket.size);
  const view = new DataView(out.buffer);
  view.setBigUint64(m.tat_ns, state.tatNs, true);
  view.setBigUint64(m.last_event_ns, state.lastEventNs, true);
  view.setUint32(m.dropped, state.dropped, true);
  return out;
}

export interface RawEvent {
  type: number;
  dropped: number;
  tsNs: bigint;
  addr: Uint8Array;
}

export function decodeEvent(bytes: Uint8Array): RawEvent | null {
  const m = S.tg_event.members;
  if (bytes.byteLength < S.tg_event.size) return null;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return {
    type: view.getUint32(m.type, true),
    dropped: view.getUint32(m.dropped, true),
    tsNs: view.getBigUint64(m.ts_ns, true),
    addr: bytes.slice(m.addr, m.addr + 16),
  };
}

/** Sums a per-CPU tg_counter value (one 16-byte slot per possible CPU). */
export function sumCounters(
  perCpu: Uint8Array,
  stride: number,
): { packets: bigint; bytes: bigint } {
  const view = new DataView(perCpu.buffer, perCpu.byteOffset, perCpu.byteLength);
  let packets = 0n;
  let bytes = 0n;
  for (let off = 0; off + S.tg_counter.size <= perCpu.byteLength; off += stride) {
    packets += view.getBigUint64(off + S.tg_counter.members.packets, true);
    bytes += view.getBigUint64(off + S.tg_counter.members.bytes, true);
  }
  return { packets, bytes };
}
