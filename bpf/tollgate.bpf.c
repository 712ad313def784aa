// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * tollgate XDP guard: drops what userspace has decided (bans, CIDR rules, media peers) and
 * floods over a per-source budget, before the kernel builds an skb. The verdict order and
 * every layout are described in tollgate.h, the contract with src/dataplane.
 *
 * Parsing follows xdp-tools' parsing_helpers.h: every read goes through a cursor that is
 * bounds-checked against data_end, loops are bounded by constants, and the program has one
 * exit (finish) that counts the verdict by reason.
 */
#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_helpers.h>

#include "tollgate.h"

#define NSEC_PER_SEC 1000000000ULL

/* Protocol numbers not in every uapi header version. */
#ifndef ETH_P_8021AD
#define ETH_P_8021AD 0x88A8
#endif
#define IPV6_NEXTHDR_HOP 0
#define IPV6_NEXTHDR_ROUTING 43
#define IPV6_NEXTHDR_FRAGMENT 44
#define IPV6_NEXTHDR_AUTH 51
#define IPV6_NEXTHDR_DEST 60
#define IPV4_FRAG_OFFSET_MASK 0x1fff
#define IPV4_MORE_FRAGMENTS 0x2000
#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif
/* TTL / hop limit of a forwarded packet: the relay sends it afresh (Linux's default). */
#define TG_RELAY_TTL 64
#define IPV6_FRAG_OFFSET_MASK 0xfff8

/* ---- maps (names are part of the contract: src/dataplane/layout.ts MAP_NAMES) ---- */

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_config);
} tg_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, TG_STATS_SLOTS);
	__type(key, __u32);
	__type(value, struct tg_counter);
} tg_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 131072);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tg_lpm_v4);
	__type(value, __u8);
} tg_allow_v4 SEC(".maps"), tg_deny_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LPM_TRIE);
	__uint(max_entries, 131072);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tg_lpm_v6);
	__type(value, __u8);
} tg_allow_v6 SEC(".maps"), tg_deny_v6 SEC(".maps");

/* Which /24 blocks any v4 allow/deny rule overlaps (see TG_CIDR_HINT_WORDS). */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, TG_CIDR_HINT_WORDS);
	__type(key, __u32);
	__type(value, __u64);
} tg_cidr_hint SEC(".maps");

/* Bans are inserted by userspace only, so they need no preallocation (memory on use). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1048576);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, __u32);
	__type(value, struct tg_ban);
} tg_banned_v4 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tg_addr);
	__type(value, struct tg_ban);
} tg_banned_v6 SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 262144);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__type(key, struct tg_addr);
	__type(value, struct tg_trust);
} tg_trusted SEC(".maps");

/* LRU: a flood from random sources evicts idle buckets instead of failing inserts. */
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 65536);
	__type(key, struct tg_addr);
	__type(value, struct tg_bucket);
} tg_buckets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct tg_global_bucket);
} tg_global SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct tg_media);
} tg_media SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 65536);
	__type(key, __u32);
	__type(value, struct tg_media_counter);
} tg_media_stats SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 256 * 1024);
} tg_events SEC(".maps");

/* See struct tg_contract: keeps every contract type in BTF. Never read. */
const volatile struct tg_contract tg_contract_anchor = {};

/* ---- parsing ---- */

/*
 * A 16-bit length field in host order, for pointer arithmetic. Linux 6.1's verifier (the
 * appliance's kernel) knows nothing of a byte swap's result (BPF_END makes the register an
 * unbounded scalar), and refuses `pointer + bpf_ntohs(x)` ("math between pkt pointer and
 * register with unbounded min value"); later kernels bound it, so only 6.1 failed. The mask
 * is in asm so that clang, which knows the swap is 16 bits wide, cannot drop it.
 */
static __always_inline __u32 be16_len(__be16 field)
{
	__u32 len = bpf_ntohs(field);

	asm volatile("%0 &= 0xffff" : "+r"(len));
	return len;
}

struct cursor {
	void *pos;
	void *end;
};

/* Returns a pointer to the next `len` bytes and advances, or NULL when they are not there. */
static __always_inline void *cursor_take(struct cursor *c, __u32 len)
{
	void *p = c->pos;

	if (p + len > c->end)
		return NULL;
	c->pos = p + len;
	return p;
}

struct packet {
	__u8 addr[16];  /* source, v4 mapped */
	__u32 saddr4;   /* source for v4 maps, network order */
	__u8 is_v6;
	__u8 l4proto;
	__u8 later_fragment; /* non-first fragment: no L4 header */
	__u8 no_rewrite;     /* VLAN tag, IPv4 fragment, IPv6 extension header: not forwarded */
	__u16 sport;    /* network order */
	__u16 dport;    /* network order */
	struct ethhdr *eth;
	void *l3;       /* struct iphdr or struct ipv6hdr */
	struct udphdr *udp;
};

static __always_inline void set_mapped_v4(struct packet *pkt, __u32 saddr)
{
	__u32 *w = (__u32 *)pkt->addr;

	w[0] = 0;
	w[1] = 0;
	w[2] = bpf_htonl(0x0000ffff);
	w[3] = saddr;
	pkt->saddr4 = saddr;
}

/* Ethernet plus up to TG_MAX_VLAN_TAGS 802.1Q/802.1ad tags. Returns the inner ethertype
 * (network order) or 0 when truncated or more deeply tagged. */
static __always_inline __u16 parse_ethernet(struct cursor *c, struct packet *pkt)
{
	struct ethhdr *eth = cursor_take(c, sizeof(*eth));
	__u16 proto;

	if (!eth)
		return 0;
	pkt->eth = eth;
	proto = eth->h_proto;
#pragma unroll
	for (int i = 0; i < TG_MAX_VLAN_TAGS; i++) {
		if (proto != bpf_htons(ETH_P_8021Q) && proto != bpf_htons(ETH_P_8021AD))
			return proto;
		/* struct vlan_hdr: TCI then encapsulated protocol. */
		__u16 *vlan = cursor_take(c, 4);

		if (!vlan)
			return 0;
		proto = vlan[1];
		pkt->no_rewrite = 1;
	}
	if (proto == bpf_htons(ETH_P_8021Q) || proto == bpf_htons(ETH_P_8021AD))
		return 0;
	return proto;
}

/* IPv4 (RFC 791): options skipped through IHL; total length must fit the frame. */
static __always_inline int parse_ipv4(struct cursor *c, struct packet *pkt)
{
	struct iphdr *ip = cursor_take(c, sizeof(*ip));
	__u32 hdr_len, tot_len;

	if (!ip || ip->version != 4 || ip->ihl < 5)
		return -1;
	hdr_len = ip->ihl * 4;
	tot_len = be16_len(ip->tot_len);
	if (tot_len < hdr_len || (void *)ip + tot_len > c->end)
		return -1;
	/* Options: the fixed header was taken above; skip the rest (at most 40 bytes). */
	if (!cursor_take(c, hdr_len - sizeof(*ip)))
		return -1;
	set_mapped_v4(pkt, ip->saddr);
	pkt->l3 = ip;
	pkt->l4proto = ip->protocol;
	pkt->later_fragment = (bpf_ntohs(ip->frag_off) & IPV4_FRAG_OFFSET_MASK) != 0;
	if (bpf_ntohs(ip->frag_off) & (IPV4_FRAG_OFFSET_MASK | IPV4_MORE_FRAGMENTS))
		pkt->no_rewrite = 1;
	return 0;
}

/* IPv6 (RFC 8200 section 4): walks at most TG_MAX_IPV6_EXT_HDRS extension headers. */
static __always_inline int parse_ipv6(struct cursor *c, struct packet *pkt)
{
	struct ipv6hdr *ip6 = cursor_take(c, sizeof(*ip6));
	__u8 next;

	if (!ip6 || ip6->version != 6)
		return -1;
	if ((void *)(ip6 + 1) + be16_len(ip6->payload_len) > c->end)
		return -1;
	__builtin_memcpy(pkt->addr, &ip6->saddr, 16);
	pkt->is_v6 = 1;
	pkt->l3 = ip6;
	next = ip6->nexthdr;
#pragma unroll
	for (int i = 0; i < TG_MAX_IPV6_EXT_HDRS; i++) {
		__u8 *hdr;
		__u32 len;

		switch (next) {
		case IPV6_NEXTHDR_HOP:
		case IPV6_NEXTHDR_ROUTING:
		case IPV6_NEXTHDR_DEST:
			hdr = cursor_take(c, 8);
			if (!hdr)
				return -1;
			len = ((__u32)hdr[1] + 1) * 8; /* RFC 8200 4.3: 8-octet units, not counting the first 8 */
			break;
		case IPV6_NEXTHDR_AUTH:
			hdr = cursor_take(c, 8);
			if (!hdr)
				return -1;
			len = ((__u32)hdr[1] + 2) * 4; /* RFC 4302 2.2: 4-octet units minus 2 */
			if (len < 8)
				return -1;
			break;
		case IPV6_NEXTHDR_FRAGMENT:
			hdr = cursor_take(c, 8); /* RFC 8200 4.5: fixed 8 bytes */
			if (!hdr)
				return -1;
			if (bpf_ntohs(*(__u16 *)(hdr + 2)) & IPV6_FRAG_OFFSET_MASK)
				pkt->later_fragment = 1;
			len = 8;
			break;
		default:
			pkt->l4proto = next;
			return 0;
		}
		next = hdr[0];
		pkt->no_rewrite = 1;
		if (!cursor_take(c, len - 8))
			return -1;
	}
	/* Still an extension header after the limit: refuse rather than guess. */
	switch (next) {
	case IPV6_NEXTHDR_HOP:
	case IPV6_NEXTHDR_ROUTING:
	case IPV6_NEXTHDR_DEST:
	case IPV6_NEXTHDR_AUTH:
	case IPV6_NEXTHDR_FRAGMENT:
		return -1;
	}
	pkt->l4proto = next;
	return 0;
}

/* UDP and TCP ports. A first fragment too short for its L4 header is malformed. */
static __always_inline int parse_ports(struct cursor *c, struct packet *pkt)
{
	if (pkt->l4proto == IPPROTO_UDP) {
		struct udphdr *udp = cursor_take(c, sizeof(*udp));

		if (!udp)
			return -1;
		pkt->udp = udp;
		pkt->sport = udp->source;
		pkt->dport = udp->dest;
		return 0;
	}
	struct tcphdr *tcp = cursor_take(c, sizeof(*tcp));

	if (!tcp || tcp->doff < 5)
		return -1;
	pkt->sport = tcp->source;
	pkt->dport = tcp->dest;
	return 0;
}

/* ---- policy ---- */

static __always_inline void count(__u32 slot, __u64 bytes)
{
	struct tg_counter *ctr = bpf_map_lookup_elem(&tg_stats, &slot);

	if (ctr) {
		ctr->packets++;
		ctr->bytes += bytes;
	}
}

/* The tg_cidr_hint bits of the source's /24: which v4 tries can match at all. */
static __always_inline __u32 v4_cidr_hint(struct packet *pkt)
{
	__u32 block = bpf_ntohl(pkt->saddr4) >> 8;
	__u32 word = block / TG_CIDR_HINT_BLOCKS_PER_WORD;
	__u64 *bits = bpf_map_lookup_elem(&tg_cidr_hint, &word);

	if (!bits)
		return TG_HINT_ALLOW | TG_HINT_DENY;
	return (*bits >> ((block % TG_CIDR_HINT_BLOCKS_PER_WORD) * 2)) & 3;
}

static __always_inline int addr_in_lpm(struct packet *pkt, __u32 hint, __u32 hint_bit,
				       void *map_v4, void *map_v6)
{
	if (pkt->is_v6) {
		struct tg_lpm_v6 key = { .prefixlen = 128 };

		__builtin_memcpy(key.addr, pkt->addr, 16);
		return bpf_map_lookup_elem(map_v6, &key) != NULL;
	}
	if (!(hint & hint_bit))
		return 0;
	struct tg_lpm_v4 key = { .prefixlen = 32, .addr = pkt->saddr4 };

	return bpf_map_lookup_elem(map_v4, &key) != NULL;
}

/* A ban (or trust) with expires_ns in the past is deleted here and no longer applies. */
static __always_inline int is_banned(struct packet *pkt)
{
	struct tg_ban *ban;
	int err;

	if (pkt->is_v6)
		ban = bpf_map_lookup_elem(&tg_banned_v6, pkt->addr);
	else
		ban = bpf_map_lookup_elem(&tg_banned_v4, &pkt->saddr4);
	if (!ban)
		return 0;
	if (ban->expires_ns == 0 || bpf_ktime_get_ns() < ban->expires_ns)
		return 1;
	if (pkt->is_v6)
		err = bpf_map_delete_elem(&tg_banned_v6, pkt->addr);
	else
		err = bpf_map_delete_elem(&tg_banned_v4, &pkt->saddr4);
	if (!err)
		count(TG_C_BAN_EXPIRED, 0);
	return 0;
}

static __always_inline int is_trusted(struct packet *pkt, __u64 now)
{
	struct tg_trust *trust = bpf_map_lookup_elem(&tg_trusted, pkt->addr);

	if (!trust)
		return 0;
	if (trust->expires_ns == 0 || now < trust->expires_ns)
		return 1;
	if (!bpf_map_delete_elem(&tg_trusted, pkt->addr))
		count(TG_C_TRUST_EXPIRED, 0);
	return 0;
}

static __always_inline int is_signaling_port(struct tg_config *cfg, __u16 port)
{
#pragma unroll
	for (int i = 0; i < TG_MAX_SIG_PORTS; i++) {
		if (cfg->sig_ports[i] && cfg->sig_ports[i] == port)
			return 1;
	}
	return 0;
}

static __always_inline void send_flood_event(struct packet *pkt, struct tg_bucket *b, __u64 now)
{
	struct tg_event *ev = bpf_ringbuf_reserve(&tg_events, sizeof(*ev), 0);

	if (!ev) {
		count(TG_C_EVENT_LOST, 0);
		return;
	}
	ev->type = TG_EV_FLOOD;
	ev->dropped = b->dropped;
	ev->ts_ns = now;
	__builtin_memcpy(ev->addr, pkt->addr, 16);
	bpf_ringbuf_submit(ev, 0);
	count(TG_C_EVENT_SENT, 0);
}

/*
 * Per-source GCRA bucket. Concurrent CPUs may race on one source's bucket; the error is a
 * few packets either way, which is acceptable for a flood threshold and avoids a lock.
 */
static __always_inline int source_over_budget(struct tg_config *cfg, struct packet *pkt, __u64 now)
{
	__u64 interval = NSEC_PER_SEC / cfg->src_rate_pps;
	__u64 burst = cfg->src_burst ? cfg->src_burst : 1;
	struct tg_bucket *b = bpf_map_lookup_elem(&tg_buckets, pkt->addr);

	if (!b) {
		struct tg_bucket fresh = { .tat_ns = now + interval };

		bpf_map_update_elem(&tg_buckets, pkt->addr, &fresh, BPF_NOEXIST);
		return 0;
	}
	__u64 tat = b->tat_ns > now ? b->tat_ns : now;

	if (tat + interval - now <= burst * interval) {
		b->tat_ns = tat + interval;
		return 0;
	}
	b->dropped++;
	if (b->last_event_ns == 0 || now - b->last_event_ns >= cfg->event_interval_ns) {
		send_flood_event(pkt, b, now);
		b->last_event_ns = now;
		b->dropped = 0;
	}
	return 1;
}

/* Shared byte budget for unknown sources: maxnetworkspeed. Same GCRA, cost = bytes. */
static __always_inline int global_over_budget(struct tg_config *cfg, __u64 bytes, __u64 now)
{
	__u32 zero = 0;
	struct tg_global_bucket *g = bpf_map_lookup_elem(&tg_global, &zero);

	if (!g)
		return 0;
	__u64 cost = bytes * NSEC_PER_SEC / cfg->global_rate_bps;
	__u64 tolerance = cfg->global_burst_bytes * NSEC_PER_SEC / cfg->global_rate_bps;
	__u64 tat = g->tat_ns > now ? g->tat_ns : now;

	if (tat + cost - now > tolerance)
		return 1;
	g->tat_ns = tat + cost;
	return 0;
}

/* ---- media relay ---- */

/* RFC 1071 one's complement sum folded to 16 bits. */
static __always_inline __u16 csum_fold(__u32 sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/*
 * Adds the change of one 32-bit field (old -> new) to a delta: ~m + m' per 16-bit word,
 * the terms of RFC 1624 eqn 3. Words are taken in memory order, like the checksum field
 * they update, so no byte swapping is needed (RFC 1071 section 2(B)).
 */
static __always_inline __u32 csum_delta32(__u32 delta, __u32 old, __u32 new)
{
	return delta + (~old & 0xffff) + (~old >> 16) + (new & 0xffff) + (new >> 16);
}

/* Same for a 16-byte address. */
static __always_inline __u32 csum_delta128(__u32 delta, const __u32 *old, const __u32 *new)
{
#pragma unroll
	for (int i = 0; i < 4; i++)
		delta = csum_delta32(delta, old[i], new[i]);
	return delta;
}

/* RFC 1624 eqn 3: HC' = ~(~HC + ~m + m'). */
static __always_inline __u16 csum_apply(__u16 check, __u32 delta)
{
	return ~csum_fold((__u32)(__u16)~check + delta);
}

static __always_inline void media_count(__u32 port, __u32 reason, __u64 bytes)
{
	struct tg_media_counter *mc = bpf_map_lookup_elem(&tg_media_stats, &port);

	if (!mc)
		return;
	if (reason == TG_R_RTP_FORWARD) {
		__sync_fetch_and_add(&mc->fwd_packets, 1);
		__sync_fetch_and_add(&mc->fwd_bytes, bytes);
	} else if (reason == TG_R_RTP_SOURCE) {
		__sync_fetch_and_add(&mc->dropped, 1);
	} else {
		__sync_fetch_and_add(&mc->userspace, 1);
	}
}

/*
 * Rewrites a packet from a leg's peer and picks its way out. The FIB lookup comes first,
 * with the new addresses, so a packet that cannot be sent goes up to the stack unchanged.
 */
static __always_inline __u32 relay_forward(struct xdp_md *ctx, struct packet *pkt,
					   struct tg_media *m, __u32 *action)
{
	struct bpf_fib_lookup fib = {};
	struct udphdr *udp = pkt->udp;
	__u32 delta_l3 = 0, delta_l4;
	int rc;

	if (pkt->no_rewrite || !udp || !pkt->eth || !pkt->l3 ||
	    pkt->is_v6 != !!(m->flags & TG_MEDIA_FWD_V6))
		return TG_R_RTP_USERSPACE;

	fib.l4_protocol = IPPROTO_UDP;
	fib.sport = m->fwd_sport;
	fib.dport = m->fwd_dport;
	fib.ifindex = ctx->ingress_ifindex;
	if (pkt->is_v6) {
		struct ipv6hdr *ip6 = pkt->l3;

		if ((void *)(ip6 + 1) > (void *)(long)ctx->data_end)
			return TG_R_MALFORMED;
		fib.family = AF_INET6;
		fib.tot_len = sizeof(*ip6) + bpf_ntohs(ip6->payload_len);
		__builtin_memcpy(fib.ipv6_src, m->fwd_src, 16);
		__builtin_memcpy(fib.ipv6_dst, m->fwd_dst, 16);
	} else {
		struct iphdr *ip = pkt->l3;

		if ((void *)(ip + 1) > (void *)(long)ctx->data_end)
			return TG_R_MALFORMED;
		fib.family = AF_INET;
		fib.tos = ip->tos;
		fib.tot_len = bpf_ntohs(ip->tot_len);
		fib.ipv4_src = *(__u32 *)(m->fwd_src + 12);
		fib.ipv4_dst = *(__u32 *)(m->fwd_dst + 12);
	}
	rc = bpf_fib_lookup(ctx, &fib, sizeof(fib), 0);
	if (rc == BPF_FIB_LKUP_RET_NO_NEIGH)
		return TG_R_RTP_NO_NEIGH;
	if (rc == BPF_FIB_LKUP_RET_FWD_DISABLED)
		return TG_R_RTP_FWD_OFF;
	if (rc != BPF_FIB_LKUP_RET_SUCCESS)
		return TG_R_RTP_NO_ROUTE;

	if (pkt->is_v6) {
		struct ipv6hdr *ip6 = pkt->l3;

		if ((void *)(ip6 + 1) > (void *)(long)ctx->data_end)
			return TG_R_MALFORMED;
		delta_l3 = csum_delta128(delta_l3, (__u32 *)&ip6->saddr, (__u32 *)m->fwd_src);
		delta_l3 = csum_delta128(delta_l3, (__u32 *)&ip6->daddr, (__u32 *)m->fwd_dst);
		__builtin_memcpy(&ip6->saddr, m->fwd_src, 16);
		__builtin_memcpy(&ip6->daddr, m->fwd_dst, 16);
		ip6->hop_limit = TG_RELAY_TTL;
	} else {
		struct iphdr *ip = pkt->l3;
		__u32 new_src = *(__u32 *)(m->fwd_src + 12);
		__u32 new_dst = *(__u32 *)(m->fwd_dst + 12);
		__u16 old_ttl_proto, new_ttl_proto;
		__u32 delta_ip;

		if ((void *)(ip + 1) > (void *)(long)ctx->data_end)
			return TG_R_MALFORMED;
		delta_l3 = csum_delta32(delta_l3, ip->saddr, new_src);
		delta_l3 = csum_delta32(delta_l3, ip->daddr, new_dst);
		/* TTL shares a 16-bit word with the protocol (RFC 791). */
		old_ttl_proto = *((__u16 *)&ip->ttl);
		ip->ttl = TG_RELAY_TTL;
		new_ttl_proto = *((__u16 *)&ip->ttl);
		delta_ip = delta_l3 + (__u16)~old_ttl_proto + new_ttl_proto;
		ip->check = csum_apply(ip->check, delta_ip);
		ip->saddr = new_src;
		ip->daddr = new_dst;
	}
	if ((void *)(udp + 1) > (void *)(long)ctx->data_end)
		return TG_R_MALFORMED;
	/* The UDP checksum covers the pseudo-header addresses (RFC 768, RFC 8200 8.1) and ports. */
	delta_l4 = delta_l3 + (__u16)~udp->source + m->fwd_sport + (__u16)~udp->dest + m->fwd_dport;
	if (pkt->is_v6 || udp->check) {
		__u16 check = csum_apply(udp->check, delta_l4);

		udp->check = check ? check : 0xffff; /* 0 means "no checksum" (RFC 768) */
	}
	udp->source = m->fwd_sport;
	udp->dest = m->fwd_dport;

	__builtin_memcpy(pkt->eth->h_dest, fib.dmac, ETH_ALEN);
	__builtin_memcpy(pkt->eth->h_source, fib.smac, ETH_ALEN);
	if (fib.ifindex == ctx->ingress_ifindex)
		*action = XDP_TX;
	else
		*action = bpf_redirect(fib.ifindex, 0);
	return TG_R_RTP_FORWARD;
}

/* The relay leg of a media port: source filter, then forwarding (order in tollgate.h). */
static __always_inline __u32 media_verdict(struct xdp_md *ctx, struct tg_config *cfg,
					   struct packet *pkt, __u32 port, __u32 *action)
{
	struct tg_media *m = bpf_map_lookup_elem(&tg_media, &port);
	__u64 *want, *got;

	if (!m || !m->active)
		return (cfg->flags & TG_CFG_CHECK_RTP) ? TG_R_RTP_UNALLOCATED : TG_R_DEFAULT;
	if (!(m->flags & TG_MEDIA_PEER))
		return TG_R_RTP_USERSPACE;
	want = (__u64 *)m->peer_addr;
	got = (__u64 *)pkt->addr;
	if (want[0] != got[0] || want[1] != got[1] || m->peer_port != pkt->sport)
		return (m->flags & TG_MEDIA_STRICT) ? TG_R_RTP_SOURCE : TG_R_RTP_USERSPACE;
	if (!(m->flags & TG_MEDIA_FORWARD))
		return TG_R_RTP_PEER;
	return relay_forward(ctx, pkt, m, action);
}

static __always_inline __u32 decide(struct xdp_md *ctx, __u64 bytes, __u32 *action)
{
	struct cursor c = { .pos = (void *)(long)ctx->data, .end = (void *)(long)ctx->data_end };
	struct packet pkt = {};
	__u32 zero = 0;
	__u16 proto;

	proto = parse_ethernet(&c, &pkt);
	if (!proto)
		return TG_R_MALFORMED;
	if (proto == bpf_htons(ETH_P_IP)) {
		if (parse_ipv4(&c, &pkt))
			return TG_R_MALFORMED;
	} else if (proto == bpf_htons(ETH_P_IPV6)) {
		if (parse_ipv6(&c, &pkt))
			return TG_R_MALFORMED;
	} else {
		return TG_R_NON_IP;
	}

	__u32 hint = pkt.is_v6 ? 0 : v4_cidr_hint(&pkt);

	if (addr_in_lpm(&pkt, hint, TG_HINT_ALLOW, &tg_allow_v4, &tg_allow_v6))
		return TG_R_ALLOW_CIDR;
	if (addr_in_lpm(&pkt, hint, TG_HINT_DENY, &tg_deny_v4, &tg_deny_v6))
		return TG_R_CIDR_DENY;
	if (is_banned(&pkt))
		return TG_R_BANNED;

	struct tg_config *cfg = bpf_map_lookup_elem(&tg_config, &zero);

	if (!cfg)
		return TG_R_DEFAULT;
	if (pkt.later_fragment)
		return (cfg->flags & TG_CFG_DROP_FRAGMENTS) ? TG_R_FRAGMENT : TG_R_FRAGMENT_PASS;
	if (pkt.l4proto != IPPROTO_UDP && pkt.l4proto != IPPROTO_TCP)
		return TG_R_OTHER_PROTO;
	if (parse_ports(&c, &pkt))
		return TG_R_MALFORMED;

	if (is_signaling_port(cfg, pkt.dport)) {
		__u64 now = bpf_ktime_get_ns();

		if (is_trusted(&pkt, now))
			return TG_R_TRUSTED;
		if (cfg->src_rate_pps && source_over_budget(cfg, &pkt, now))
			return TG_R_FLOOD;
		if (cfg->global_rate_bps && global_over_budget(cfg, bytes, now))
			return TG_R_FLOOD_GLOBAL;
		return TG_R_SIGNALING;
	}

	__u32 port = bpf_ntohs(pkt.dport);

	if (pkt.l4proto == IPPROTO_UDP && cfg->media_port_min && port >= cfg->media_port_min &&
	    port <= cfg->media_port_max) {
		__u32 reason = media_verdict(ctx, cfg, &pkt, port, action);

		if (reason != TG_R_RTP_PEER && reason != TG_R_RTP_UNALLOCATED &&
		    reason != TG_R_DEFAULT && reason != TG_R_MALFORMED)
			media_count(port, reason, bytes);
		return reason;
	}
	return TG_R_DEFAULT;
}

SEC("xdp")
int tollgate_xdp(struct xdp_md *ctx)
{
	__u64 bytes = ctx->data_end - ctx->data;
	__u32 action = XDP_PASS;
	__u32 reason = decide(ctx, bytes, &action);

	/* The one exit: every verdict is counted by its reason. */
	count(reason, bytes);
	if (reason == TG_R_RTP_FORWARD)
		return action;
	return reason >= TG_R_FIRST_DROP ? XDP_DROP : XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
