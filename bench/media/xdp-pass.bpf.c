// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Attached to the generator's veth end in bench/media (for both relays alike): a veth only
 * wakes its peer to take XDP_TX'd frames when that peer runs an XDP program, as a NIC would
 * simply put them on the wire. Passes everything.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

SEC("xdp")
int bench_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
