#!/usr/bin/env bash
# What the tests need before the first one starts, checked in a second so a machine that
# cannot run them fails once, with one clear message, instead of with dozens of cryptic
# failures. Run by `npm test` (--root, before bootstrap) and by ava itself (ava.config.js,
# everything, so `ava tests/x.test.ts` is covered too).
#
# Every test runs as root: they build network namespaces, attach XDP programs, load nftables
# tables and run the real peers (SIPp, sipvicious, trafgen) inside them. What bootstrap.sh
# installs is only checked here, never installed: run `bash scripts/bootstrap.sh` as root.
set -uo pipefail
cd "$(dirname "$0")/.."

fail() {
  printf 'tollgate tests cannot run: %s\n' "$1" >&2
  exit 1
}

[ "$(id -u)" -eq 0 ] ||
  fail "they must run as root (they create network namespaces, attach XDP programs and load nftables tables). Run: sudo npm test"
[ "${1:-}" = "--root" ] && exit 0

# command → the Debian package bootstrap.sh installs it from
declare -A NEEDED=(
  [ip]=iproute2 [nft]=nftables [bpftool]=bpftool [clang]=clang [make]=make
  [sipp]=sip-tester [svmap]=sipvicious [svwar]=sipvicious [svcrack]=sipvicious
  [python3]=python3 [trafgen]=netsniff-ng [openssl]=openssl [timeout]=coreutils
  [baresip]=baresip-core [linphonec]=linphone-cli [chromium]=chromium
  [pebble]=pebble [sshd]=openssh-server [sshpass]=sshpass [ethtool]=ethtool
  [dpkg-deb]=dpkg [systemd-analyze]=systemd [qemu-system-x86_64]=qemu-system-x86 [cpio]=cpio
)
missing=()
for cmd in "${!NEEDED[@]}"; do
  PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null || missing+=("$cmd (${NEEDED[$cmd]})")
done
[ ${#missing[@]} -eq 0 ] ||
  fail "missing $(IFS=,; echo "${missing[*]}" | sed 's/,/, /g'). Run as root: bash scripts/bootstrap.sh --test"

[ -f bpf/tollgate.bpf.o ] || fail "the BPF object bpf/tollgate.bpf.o is not built. Run: bash scripts/bootstrap.sh"
[ -f dist/ui/admin.js ] || fail "the web UI is not built (dist/ui). Run: bash scripts/bootstrap.sh"
[ -d /sys/fs/bpf ] || fail "this kernel has no BPF filesystem (/sys/fs/bpf): XDP tests need a kernel with BPF"
exit 0
