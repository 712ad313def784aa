// SPDX-License-Identifier: (GPL-2.0 OR BSD-2-Clause)
/*
 * Loads bpf/tollgate.bpf.o the way src/dataplane does (libbpf: bpf_object__open_file with
 * default options, bpf_object__load, then the same libbpf calls the daemon makes through
 * koffi: bpf_prog_test_run_opts, bpf_xdp_attach / bpf_xdp_query_id / bpf_xdp_detach,
 * bpf_obj_get_info_by_fd for `tollgate status`, ring_buffer__new for flood events), inside
 * a VM booted on another kernel (tests/dataplane/verifier-kernel61.test.ts).
 *
 * Prints one "TG-VERIFY ok|FAILED <step> ..." line per step on stdout (the VM's serial
 * console), and "TG-VERIFY PASS" or "TG-VERIFY FAIL" last. When the load fails, the tail of the
 * kernel's verifier log is printed between "TG-VERIFY LOG BEGIN" and "TG-VERIFY LOG END".
 *
 * Usage: tg-verify [--unit-caps] OBJECT [IFNAME native|generic]...
 * --unit-caps: first keep only the capabilities systemd/tollgate.service grants (CAP_BPF,
 * CAP_PERFMON, CAP_NET_ADMIN, CAP_NET_BIND_SERVICE): what the verifier allows depends on
 * them (CAP_PERFMON: pointer arithmetic, speculation checks), and the service has no
 * CAP_SYS_ADMIN.
 */
#include <errno.h>
#include <net/if.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <linux/if_link.h>
#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "../../../bpf/tollgate.h"

#define LOG_SIZE (16u << 20)
#define LOG_TAIL_LINES 80

static int failures;

static void step(const char *name, int ok, const char *fmt, ...)
{
	va_list ap;

	printf("TG-VERIFY %s %s", ok ? "ok" : "FAILED", name);
	if (fmt) {
		putchar(' ');
		va_start(ap, fmt);
		vprintf(fmt, ap);
		va_end(ap);
	}
	putchar('\n');
	fflush(stdout);
	if (!ok)
		failures++;
}

static int print_warnings(enum libbpf_print_level level, const char *fmt, va_list ap)
{
	if (level != LIBBPF_WARN)
		return 0;
	printf("libbpf: ");
	return vprintf(fmt, ap);
}

/* The last lines of the verifier log: where it gave up, and the state it was in. */
static void print_log_tail(const char *log)
{
	size_t len = strlen(log);
	const char *p = log + len;
	int lines = 0;

	while (p > log && lines <= LOG_TAIL_LINES) {
		p--;
		if (*p == '\n')
			lines++;
	}
	printf("TG-VERIFY LOG BEGIN (%zu bytes, last %d lines)\n%s\nTG-VERIFY LOG END\n", len,
	       LOG_TAIL_LINES, p);
	fflush(stdout);
}

/* The service's capabilities, and only those (effective and permitted; root's uid stays). */
static int keep_unit_caps(void)
{
	static const int caps[] = { CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN, CAP_NET_BIND_SERVICE };
	struct __user_cap_header_struct hdr = { .version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct data[2] = {};

	for (unsigned i = 0; i < sizeof(caps) / sizeof(caps[0]); i++) {
		data[caps[i] / 32].effective |= 1u << (caps[i] % 32);
		data[caps[i] / 32].permitted |= 1u << (caps[i] % 32);
	}
	return syscall(SYS_capset, &hdr, data);
}

/* Ethernet + IPv4 + UDP to port 5060 from saddr (network order). */
static int build_udp4(unsigned char *f, __u32 saddr)
{
	static const unsigned char head[] = {
		0x02, 0, 0, 0, 0, 2, 0x02, 0, 0, 0, 0, 1, 0x08, 0x00,  /* eth: IPv4 */
		0x45, 0, 0, 36, 0, 1, 0, 0, 64, 17, 0, 0,               /* ip: 36 bytes, UDP */
	};
	int n = sizeof(head);

	memcpy(f, head, n);
	memcpy(f + n, &saddr, 4);                     /* source */
	memcpy(f + n + 4, (unsigned char[]){ 192, 0, 2, 1 }, 4); /* destination */
	n += 8;
	memcpy(f + n, (unsigned char[]){ 0x9c, 0x40, 0x13, 0xc4, 0, 16, 0, 0 }, 8); /* 40000 → 5060 */
	n += 8;
	memcpy(f + n, "REGISTER", 8);
	return n + 8;
}

static int run(int prog_fd, __u32 saddr, __u32 *retval)
{
	unsigned char frame[64] = {};
	LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame, .repeat = 1);
	int err;

	opts.data_size_in = build_udp4(frame, saddr);
	err = bpf_prog_test_run_opts(prog_fd, &opts);
	*retval = opts.retval;
	return err;
}

static int events_seen;
static int on_event(void *ctx, void *data, size_t size)
{
	const struct tg_event *ev = data;

	(void)ctx;
	if (size >= sizeof(*ev) && ev->type == TG_EV_FLOOD)
		events_seen++;
	return 0;
}

/* The program's behaviour on a few frames: ban, signaling budget, flood event. */
static void exercise(struct bpf_object *obj, int prog_fd)
{
	__u32 zero = 0, banned = inet_addr("198.51.100.7"), flooder = inet_addr("203.0.113.9");
	struct tg_config cfg = { .src_rate_pps = 1, .src_burst = 1 };
	struct tg_ban forever = { .expires_ns = 0 };
	struct ring_buffer *rb;
	__u32 retval = 0;
	int err;

	cfg.sig_ports[0] = htons(5060);
	err = bpf_map_update_elem(bpf_object__find_map_fd_by_name(obj, "tg_config"), &zero, &cfg, 0);
	step("config", !err, "errno=%d", -err);
	err = bpf_map_update_elem(bpf_object__find_map_fd_by_name(obj, "tg_banned_v4"), &banned,
				  &forever, 0);
	step("ban", !err, "errno=%d", -err);
	err = run(prog_fd, banned, &retval);
	step("run-banned", !err && retval == XDP_DROP, "retval=%u (want %u)", retval, XDP_DROP);
	err = run(prog_fd, flooder, &retval);
	step("run-signaling", !err && retval == XDP_PASS, "retval=%u (want %u)", retval, XDP_PASS);
	err = run(prog_fd, flooder, &retval);
	step("run-flood", !err && retval == XDP_DROP, "retval=%u (want %u)", retval, XDP_DROP);
	/* Bans restored at start go in batches (xdp-guard.ts banManyV4): BPF_MAP_UPDATE_BATCH. */
	__u32 batch_keys[2] = { inet_addr("198.51.100.8"), inet_addr("198.51.100.9") };
	struct tg_ban batch_values[2] = {};
	__u32 n = 2;
	err = bpf_map_update_batch(bpf_object__find_map_fd_by_name(obj, "tg_banned_v4"), batch_keys,
				   batch_values, &n, NULL);
	step("ban-batch", !err && n == 2, "errno=%d count=%u", -err, n);
	err = run(prog_fd, batch_keys[1], &retval);
	step("run-batch-banned", !err && retval == XDP_DROP, "retval=%u (want %u)", retval, XDP_DROP);
	/* A deny CIDR: LPM trie (BPF_F_NO_PREALLOC) plus its /24 hint bit (cidr-hints.ts). */
	struct tg_lpm_v4 deny = { .prefixlen = 24, .addr = inet_addr("192.0.2.0") };
	__u8 one = 1;
	__u32 block = ntohl(deny.addr) >> 8, word = block / TG_CIDR_HINT_BLOCKS_PER_WORD;
	__u64 bits = (__u64)TG_HINT_DENY << ((block % TG_CIDR_HINT_BLOCKS_PER_WORD) * 2);
	err = bpf_map_update_elem(bpf_object__find_map_fd_by_name(obj, "tg_deny_v4"), &deny, &one, 0);
	if (!err)
		err = bpf_map_update_elem(bpf_object__find_map_fd_by_name(obj, "tg_cidr_hint"), &word,
					  &bits, 0);
	step("cidr", !err, "errno=%d", -err);
	err = run(prog_fd, inet_addr("192.0.2.77"), &retval);
	step("run-cidr-deny", !err && retval == XDP_DROP, "retval=%u (want %u)", retval, XDP_DROP);
	rb = ring_buffer__new(bpf_object__find_map_fd_by_name(obj, "tg_events"), on_event, NULL,
			      NULL);
	step("ringbuf", rb != NULL, "errno=%d", rb ? 0 : errno);
	if (rb) {
		ring_buffer__consume(rb);
		ring_buffer__free(rb);
		step("flood-event", events_seen == 1, "events=%d (want 1)", events_seen);
	}
}

/*
 * What xdp-attach.ts does: attach, then read back the id the interface runs and compare it
 * with our program's (what `tollgate status` shows), then detach.
 */
static void attach(int prog_fd, const char *ifname, const char *mode)
{
	__u32 flags = strcmp(mode, "native") == 0 ? XDP_FLAGS_DRV_MODE : XDP_FLAGS_SKB_MODE;
	int ifindex = if_nametoindex(ifname);
	struct bpf_prog_info info = {};
	__u32 id = 0, info_len = sizeof(info);
	int err;

	if (!ifindex) {
		step("attach", 0, "%s: no such interface", ifname);
		return;
	}
	err = bpf_xdp_attach(ifindex, prog_fd, flags | XDP_FLAGS_UPDATE_IF_NOEXIST, NULL);
	step("attach", !err, "%s %s errno=%d", ifname, mode, -err);
	if (err)
		return;
	err = bpf_xdp_query_id(ifindex, flags, &id);
	if (!err)
		err = bpf_obj_get_info_by_fd(prog_fd, &info, &info_len);
	step("query", !err && id != 0 && id == info.id && strcmp(info.name, "tollgate_xdp") == 0,
	     "%s id=%u ours=%u name=%s", ifname, id, info.id, info.name);
	err = bpf_xdp_detach(ifindex, flags, NULL);
	step("detach", !err, "%s errno=%d", ifname, -err);
}

int main(int argc, char **argv)
{
	struct bpf_object *obj;
	struct bpf_program *prog;
	char *log = calloc(1, LOG_SIZE);
	int err, prog_fd;

	if (argc > 1 && strcmp(argv[1], "--unit-caps") == 0) {
		err = keep_unit_caps();
		step("caps", !err, "CAP_BPF CAP_PERFMON CAP_NET_ADMIN CAP_NET_BIND_SERVICE only, errno=%d",
		     err ? errno : 0);
		argv++;
		argc--;
	}
	if (argc < 2 || argc % 2 != 0 || !log) {
		fprintf(stderr, "usage: tg-verify [--unit-caps] OBJECT [IFNAME native|generic]...\n");
		return 2;
	}
	libbpf_set_print(print_warnings);
	obj = bpf_object__open_file(argv[1], NULL);
	if (!obj) {
		step("open", 0, "%s errno=%d", argv[1], errno);
		goto out;
	}
	prog = bpf_object__find_program_by_name(obj, "tollgate_xdp");
	if (!prog) {
		step("open", 0, "no program tollgate_xdp");
		goto out;
	}
	/* Statistics only (BPF_LOG_STATS): a full log of a successful load is megabytes. */
	bpf_program__set_log_buf(prog, log, LOG_SIZE);
	bpf_program__set_log_level(prog, 4);
	err = bpf_object__load(obj);
	if (err) {
		step("load", 0, "errno=%d", -err);
		/* Again with the instruction log: the reason and the path that led to it. */
		bpf_object__close(obj);
		obj = bpf_object__open_file(argv[1], NULL);
		prog = obj ? bpf_object__find_program_by_name(obj, "tollgate_xdp") : NULL;
		if (prog) {
			log[0] = 0;
			bpf_program__set_log_buf(prog, log, LOG_SIZE);
			bpf_program__set_log_level(prog, 1);
			bpf_object__load(obj);
			print_log_tail(log);
		}
		goto out;
	}
	prog_fd = bpf_program__fd(prog);
	/* BPF_LOG_STATS: "verification time ... stack depth ... processed N insns (limit ...". */
	for (char *p = log; *p; p++)
		if (*p == '\n')
			*p = p[1] ? ';' : 0;
	step("load", 1, "%s", log);
	exercise(obj, prog_fd);
	for (int i = 2; i + 1 < argc; i += 2)
		attach(prog_fd, argv[i], argv[i + 1]);
out:
	printf("TG-VERIFY %s\n", failures || !obj ? "FAIL" : "PASS");
	fflush(stdout);
	bpf_object__close(obj);
	return failures ? 1 : 0;
}
