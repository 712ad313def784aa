#!/usr/bin/env bash
# Builds the initramfs (a gzipped newc cpio) of the verifier VM that
# tests/dataplane/verifier-kernel61.test.ts boots:
#   initramfs.sh CACHE TG_VERIFY OBJECT OUT
# CACHE is what scripts/bootstrap.sh fetched (vmlinuz, veth.ko, a static busybox),
# TG_VERIFY the loader built from tg-verify.c (static), OBJECT the BPF object to load.
# iproute2's `ip` comes from this machine with the shared libraries it links: busybox's ip
# cannot make a veth pair.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
cache=$1 loader=$2 object=$3 out=$4
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT

mkdir -p "$root"/{bin,dev,proc,sys}
install -m 0755 "$cache/busybox" "$root/bin/busybox"
install -m 0755 "$here/init" "$root/init"
install -m 0755 "$loader" "$root/tg-verify"
install -m 0644 "$object" "$root/tollgate.bpf.o"
install -m 0644 "$cache/veth.ko" "$root/veth.ko"
ip=$(PATH="$PATH:/usr/sbin:/sbin" command -v ip)
install -m 0755 "$ip" "$root/bin/ip"
# ldd lines: "libx.so.1 => /lib/.../libx.so.1 (0x...)" and "/lib64/ld-linux-x86-64.so.2 (0x...)".
ldd "$ip" | grep -o '/[^ ]*' | while read -r lib; do
  mkdir -p "$root$(dirname "$lib")"
  cp -L "$lib" "$root$lib"
done
(cd "$root" && find . | cpio -o -H newc --quiet | gzip -1) >"$out"
