// Coded errors of the XDP dataplane and its libbpf bindings (area 'dataplane'). Messages
// carry the libbpf/kernel reason (strerror text) so an operator can tell "no permission"
// from "not supported by this NIC" without reading code. The nftables driver has its own
// catalogue in nft-errors.ts.
import { defineErrors } from '../errors.ts';

export const DataplaneErrors = defineErrors('dataplane', {
  TG_DP_LIBBPF_UNAVAILABLE: 'libbpf (libbpf.so.1) cannot be loaded: %s (install Debian libbpf1)',
  TG_DP_OBJECT_OPEN: 'cannot open BPF object %s: %s',
  TG_DP_OBJECT_LOAD: 'kernel refused BPF object %s: %s (see the verifier log above)',
  TG_DP_NOT_FOUND: 'BPF object %s has no %s named "%s"',
  TG_DP_MAP_OP: 'bpf map %s %s failed: %s',
  TG_DP_MAP_FULL: 'bpf map %s is full (%s entries)',
  TG_DP_ATTACH: 'cannot attach XDP program to %s: %s',
  TG_DP_DETACH: 'cannot detach XDP program from %s: %s',
  TG_DP_FOREIGN_PROGRAM:
    'interface %s already runs XDP program %s, not attached by this tollgate; refusing to replace it',
  TG_DP_NO_INTERFACE: 'no network interface named "%s"',
  TG_DP_BAD_ADDRESS: 'not an IPv4 or IPv6 address: "%s"',
  TG_DP_BAD_CIDR: 'not a CIDR prefix: "%s"',
  TG_DP_BAD_PORT: 'bad %s %s: expected an integer in %s',
  TG_DP_BAD_TTL: 'bad ttl %s: expected whole seconds >= 0 (0 = forever)',
  TG_DP_BAD_CONFIG: 'bad dataplane config %s: %s',
  TG_DP_BAD_RELAY: 'bad relay leg for port %s: %s',
  TG_DP_TEST_RUN: 'BPF_PROG_TEST_RUN failed: %s',
  TG_DP_RINGBUF: 'ring buffer %s failed: %s',
  TG_DP_CLOSED: 'XDP dataplane used after close()',
  TG_DP_OWNED:
    'the kernel dataplane of this network namespace belongs to a running tollgate (pid %s, data directory %s); one dataplane per network namespace: stop it, or run this one in another namespace or with dataplanemode=off',
  TG_DP_LOCK: 'cannot take the dataplane lock of this network namespace: %s',
  TG_DP_LINKS: 'cannot list network interfaces (ip -j link): %s',
  TG_DP_BAD_PATTERN:
    'bad interface pattern "%s": expected 1-15 of [A-Za-z0-9_.:@-], with * and ? as wildcards',
});
