/* SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause) */
/*
 * The contract between the XDP guard (tollgate.bpf.c) and userspace (src/dataplane).
 *
 * Everything userspace must agree on lives here and nowhere else: map names, key and value
 * layouts, reason codes, config flags. src/dataplane/layout.ts mirrors it by hand and
 * tests/dataplane/layout.test.ts checks the mirror against the BTF of the compiled object,
 * so a change here that is not made there fails the tests.
 *
 * Conventions:
 *  - Fixed-width types only, explicit padding, no bitfields: the layout is the same for the
 *    BPF target and x86-64 (LPM keys are the kernel's {prefixlen, bytes} shape).
 *  - Addresses and ports are in network byte order, exactly as on the wire, so the program
 *    never byte-swaps on the hot path. Times are CLOCK_MONOTONIC ns (bpf_ktime_get_ns).
 *  - Maps shared by v4 and v6 key on a 16-byte address: IPv4 is IPv4-mapped
 *    (::ffff:a.b.c.d, RFC 4291 section 2.5.5.2).
 *
 * Verdict order (first match wins; one exit point records the reason):
 *   parse error ............................... drop  TG_R_MALFORMED
 *   non-IP (ARP, LLDP, ...) ................... pass  TG_R_NON_IP
 *   source in allow CIDR (LPM v4/v6) .......... pass  TG_R_ALLOW_CIDR  (v4: if hinted)
 *   source in deny CIDR (LPM v4/v6) ........... drop  TG_R_CIDR_DENY   (v4: if hinted)
 *   source banned, not expired (HASH v4/v6) ... drop  TG_R_BANNED   (expired: deleted, go on)
 *   non-first fragment ........................ TG_CFG_DROP_FRAGMENTS ? drop TG_R_FRAGMENT
 *                                                                   : pass TG_R_FRAGMENT_PASS
 *   not UDP/TCP (ICMP, ...) ................... pass  TG_R_OTHER_PROTO
 *   dst port is a signaling port:
 *     trusted source (HASH with expiry) ....... pass  TG_R_TRUSTED
 *     per-source bucket empty ................. drop  TG_R_FLOOD (+1 event/source/interval)
 *     shared unknown-source byte budget empty . drop  TG_R_FLOOD_GLOBAL
 *     otherwise ............................... pass  TG_R_SIGNALING
 *   UDP dst port in media range (one tg_media entry per local port: a relay leg):
 *     port not allocated, TG_CFG_CHECK_RTP .... drop  TG_R_RTP_UNALLOCATED
 *     port not allocated, otherwise ........... pass  TG_R_DEFAULT
 *     no peer latched yet ..................... pass  TG_R_RTP_USERSPACE (userspace latches)
 *     source ip:port is not the peer, strict .. drop  TG_R_RTP_SOURCE    (+ per-port count)
 *     source ip:port is not the peer .......... pass  TG_R_RTP_USERSPACE (may re-learn)
 *     from the peer, leg does not forward ..... pass  TG_R_RTP_PEER
 *     from the peer, forwarding leg:
 *       shape the kernel does not rewrite ..... pass  TG_R_RTP_USERSPACE (fragment, VLAN,
 *                                                      IPv6 ext headers, v4<->v6 leg)
 *       FIB: next hop has no neighbour entry .. pass  TG_R_RTP_NO_NEIGH  (the stack resolves it)
 *       FIB: forwarding off on the interface .. pass  TG_R_RTP_FWD_OFF
 *       FIB: any other failure (route, MTU) ... pass  TG_R_RTP_NO_ROUTE
 *       otherwise: rewritten and sent ......... TX/redirect TG_R_RTP_FORWARD
 *   anything else ............................. pass  TG_R_DEFAULT
 *
 * Kernel forwarding (rtpengine's in-kernel forwarding, done in XDP): a packet from a leg's
 * peer gets the leg's new source (our relay address and port on the other side) and
 * destination (the other party), TTL / hop limit 64 as a freshly sent packet, the IPv4
 * header and UDP checksums updated incrementally (RFC 1624 eqn 3; an IPv4 UDP checksum of 0
 * stays 0, RFC 768), and leaves by XDP_TX or bpf_redirect to the FIB's egress interface,
 * Ethernet addresses from the FIB result. Per-port counters: tg_media_stats.
 */
#ifndef TOLLGATE_H
#define TOLLGATE_H

#include <linux/types.h>

/* Name of the XDP program (section "xdp"); used to recognise a stale one left attached. */
#define TG_PROG_NAME "tollgate_xdp"

/* Parser limits: bounded loops, and the verifier needs constants. */
#define TG_MAX_VLAN_TAGS 2
#define TG_MAX_IPV6_EXT_HDRS 6
#define TG_MAX_SIG_PORTS 8

/*
 * IPv4 CIDR hint bitmap (tg_cidr_hint): 2 bits per /24 block (enum tg_cidr_hint_bit), 32
 * blocks per __u64 word, so 2^24 blocks fit in 2^19 words (4 MiB). Userspace sets a block's
 * bit while any allow (deny) rule overlaps that /24, before inserting the rule and clearing it
 * after removing the last one. The program walks an IPv4 LPM trie only when the bit is set:
 * a trie walk over 100,000 prefixes costs ~90 ns, an array read a few ns.
 */
#define TG_CIDR_HINT_WORDS (1 << 19)
#define TG_CIDR_HINT_BLOCKS_PER_WORD 32

/*
 * Reason codes. Values below TG_R_FIRST_DROP are passes, the rest are drops. They index the
 * per-CPU counter array tg_stats; TG_C_* after them are event counters, not verdicts.
 */
enum tg_reason {
	TG_R_DEFAULT = 0,          /* no rule applies */
	TG_R_NON_IP = 1,           /* not IPv4/IPv6 */
	TG_R_ALLOW_CIDR = 2,       /* source in an allow-listed CIDR */
	TG_R_TRUSTED = 3,          /* signaling from a trusted source */
	TG_R_SIGNALING = 4,        /* signaling within budget */
	TG_R_RTP_PEER = 5,         /* media from the registered peer */
	TG_R_FRAGMENT_PASS = 6,    /* non-first fragment, policy pass */
	TG_R_OTHER_PROTO = 7,      /* neither UDP nor TCP */
	TG_R_RTP_USERSPACE = 8,    /* relay port: up to the userspace relay (see the order above) */
	TG_R_RTP_NO_NEIGH = 9,     /* relay: the next hop has no neighbour entry yet */
	TG_R_RTP_FWD_OFF = 10,     /* relay: forwarding disabled on the ingress interface */
	TG_R_RTP_NO_ROUTE = 11,    /* relay: FIB lookup failed (no route, MTU, not unicast) */
	TG_R_RTP_FORWARD = 12,     /* relay: rewritten and sent (XDP_TX / redirect): not a pass */
	TG_R_FIRST_DROP = 16,
	TG_R_MALFORMED = 16,       /* truncated or inconsistent headers */
	TG_R_CIDR_DENY = 17,       /* source in a deny-listed CIDR */
	TG_R_BANNED = 18,          /* source banned */
	TG_R_FLOOD = 19,           /* per-source signaling budget exhausted */
	TG_R_FLOOD_GLOBAL = 20,    /* shared unknown-source budget (maxnetworkspeed) exhausted */
	TG_R_RTP_SOURCE = 21,      /* media port allocated to another peer */
	TG_R_RTP_UNALLOCATED = 22, /* media port not allocated */
	TG_R_FRAGMENT = 23,        /* non-first fragment, policy drop */
	TG_C_BAN_EXPIRED = 28,     /* expired ban entries deleted by the program */
	TG_C_TRUST_EXPIRED = 29,   /* expired trust entries deleted by the program */
	TG_C_EVENT_SENT = 30,      /* flood events written to tg_events */
	TG_C_EVENT_LOST = 31,      /* flood events lost: ring buffer full */
	TG_STATS_SLOTS = 32,
};

enum tg_cidr_hint_bit {
	TG_HINT_ALLOW = 1,
	TG_HINT_DENY = 2,
};

/* tg_stats value, one per CPU per slot. */
struct tg_counter {
	__u64 packets;
	__u64 bytes;
};

/* Config flags (tg_config.flags). */
enum tg_config_flag {
	TG_CFG_DROP_FRAGMENTS = 1, /* drop non-first fragments (they carry no ports) */
	TG_CFG_CHECK_RTP = 2,      /* checkrtpaddr: enforce the media port table */
};

/*
 * Single entry (key 0) of tg_config. All zero = every budget off, no media checks: the
 * program then only enforces CIDR rules and bans.
 */
struct tg_config {
	__u16 sig_ports[TG_MAX_SIG_PORTS]; /* network order; 0 = unused slot */
	__u16 media_port_min;              /* host order, inclusive; 0 = no media range */
	__u16 media_port_max;              /* host order, inclusive */
	__u32 flags;                       /* enum tg_config_flag */
	__u32 src_rate_pps;                /* per-source signaling packets/s; 0 = no budget */
	__u32 src_burst;                   /* per-source bucket depth, packets */
	__u64 global_rate_bps;             /* shared unknown-source budget, bytes/s; 0 = none */
	__u64 global_burst_bytes;          /* shared bucket depth, bytes */
	__u64 event_interval_ns;           /* at most one flood event per source per interval */
};

/* LPM trie keys (tg_allow_v4, tg_deny_v4 / tg_allow_v6, tg_deny_v6); value: __u8 (unused). */
struct tg_lpm_v4 {
	__u32 prefixlen;
	__u32 addr;
};

struct tg_lpm_v6 {
	__u32 prefixlen;
	__u8 addr[16];
};

/* 16-byte address key for maps shared by v4 (mapped) and v6: tg_trusted, tg_buckets. */
struct tg_addr {
	__u8 addr[16];
};

/* tg_banned_v4 (key __u32 addr) and tg_banned_v6 (key struct tg_addr) value. */
struct tg_ban {
	__u64 expires_ns; /* monotonic ns; 0 = until unbanned */
};

/* tg_trusted value. */
struct tg_trust {
	__u64 expires_ns; /* monotonic ns; 0 = until untrusted */
};

/*
 * tg_buckets value (LRU hash keyed by struct tg_addr): a token bucket kept as GCRA
 * (RFC 2698 style token bucket expressed as a "theoretical arrival time"): a packet passes
 * when max(tat, now) + T - now <= burst * T, with T = 1e9 / rate; then tat advances by T.
 * Moving tat into the past refills the bucket.
 */
struct tg_bucket {
	__u64 tat_ns;        /* theoretical arrival time */
	__u64 last_event_ns; /* when the last flood event for this source was sent */
	__u32 dropped;       /* drops since the last event */
	__u32 pad;
};

/* tg_global (ARRAY, key 0) value: the shared byte budget for unknown sources. */
struct tg_global_bucket {
	__u64 tat_ns;
};

/* tg_media.flags. */
enum tg_media_flag {
	TG_MEDIA_PEER = 1,    /* peer_addr/peer_port are set (latched or from the SDP) */
	TG_MEDIA_STRICT = 2,  /* a packet from another source is dropped, not let up */
	TG_MEDIA_FORWARD = 4, /* packets from the peer are forwarded in the kernel (fwd_*) */
	TG_MEDIA_FWD_V6 = 8,  /* fwd_src/fwd_dst are IPv6 (else IPv4 mapped) */
};

/*
 * tg_media value (ARRAY indexed by local UDP port in host order): one relay leg. Userspace
 * writes it whole (one update), so the program never sees half a leg.
 */
struct tg_media {
	__u8 peer_addr[16]; /* expected source, v4 mapped */
	__u16 peer_port;    /* network order */
	__u8 active;        /* 0 = port not allocated */
	__u8 flags;         /* enum tg_media_flag */
	__u16 fwd_sport;    /* network order: our relay port facing the other party */
	__u16 fwd_dport;    /* network order: the other party's port */
	__u8 fwd_src[16];   /* our address facing the other party, v4 mapped */
	__u8 fwd_dst[16];   /* the other party, v4 mapped */
};

/*
 * tg_media_stats value (ARRAY indexed like tg_media): per-port counters, added atomically
 * (a port's packets may land on any CPU). Userspace zeroes a port's slot when it opens a
 * leg afresh; a relay update (latching) keeps them.
 */
struct tg_media_counter {
	__u64 fwd_packets;
	__u64 fwd_bytes;
	__u64 dropped;   /* TG_R_RTP_SOURCE at this port */
	__u64 userspace; /* TG_R_RTP_USERSPACE, _NO_NEIGH, _FWD_OFF, _NO_ROUTE at this port */
};

/* Ring buffer record (tg_events). */
enum tg_event_type {
	TG_EV_FLOOD = 1,
};

struct tg_event {
	__u32 type;      /* enum tg_event_type */
	__u32 dropped;   /* packets dropped for this source since its previous event */
	__u64 ts_ns;     /* monotonic ns */
	__u8 addr[16];   /* source, v4 mapped */
};

/*
 * Anchors every contract type in the object's BTF (a .rodata constant the program reads
 * nothing from), so userspace can check its mirror of this header against the object.
 */
struct tg_contract {
	enum tg_reason reason;
	enum tg_config_flag config_flag;
	enum tg_event_type event_type;
	enum tg_cidr_hint_bit cidr_hint_bit;
	struct tg_counter counter;
	struct tg_config config;
	struct tg_lpm_v4 lpm_v4;
	struct tg_lpm_v6 lpm_v6;
	struct tg_addr addr;
	struct tg_ban ban;
	struct tg_trust trust;
	struct tg_bucket bucket;
	struct tg_global_bucket global_bucket;
	enum tg_media_flag media_flag;
	struct tg_media media;
	struct tg_media_counter media_counter;
	struct tg_event event;
};

#endif /* TOLLGATE_H */
