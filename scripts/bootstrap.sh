#!/usr/bin/env bash
# Idempotent set-up run first by `npm start` and `npm test`: on a fresh Debian 12 machine it
# installs what is missing; when everything is present it only checks, in seconds.
#   1. Debian packages the appliance and its tests use (root only; others get a warning).
#   2. npm packages, exactly as package-lock.json locks them (npm ci), when it changed.
#   3. The BPF object (make -C bpf), the TypeScript build (tsc) and the web UI's browser
#      bundle (esbuild, src/webui/ui/build.ts → dist/ui), when sources changed.
# `npm test` (or `bootstrap.sh --test`) also installs what only the tests use: the real
# softphones. `npm start` does not: an appliance has no use for them.
set -euo pipefail
cd "$(dirname "$0")/.."

# Runtime: libbpf1 (loaded through koffi), nftables, iproute2.
# Build: clang/llvm/libbpf-dev/linux-libc-dev for bpf/, bpftool for inspection, patch for
# LMDB's fixes (scripts/build-lmdb.sh).
# Tests and benches: real peers (sipp, sipvicious, trafgen, kamailio, tcpdump, and
# rtpengine for bench:media's side-by-side), ethtool for the relay tests' veth offloads.
APT_PACKAGES=(
  libbpf1 libbpf-dev clang llvm linux-libc-dev bpftool nftables iproute2 make patch
  sip-tester sipvicious netsniff-ng kamailio tcpdump openssl ethtool rtpengine-daemon
)

# Test-only: the softphones tests/helpers/softphones.ts drives (baresip 1.0, Linphone 5.1's
# linphonec), and the browser the web UI tests drive through playwright-core (Debian's
# chromium: no browser download), pebble, the ACME server tests/webui/acme.test.ts issues
# certificates from, sshd + sshpass for the SSH console tests and systemd-analyze for the
# unit's exposure score (tests/appliance), and OVMF, the UEFI firmware `npm run test:image`
# boots the installed appliance with, installed when the tests are what this set-up is
# for. qemu-system-x86 and cpio: tests/dataplane/verifier-kernel61.test.ts boots the
# appliance's Linux 6.1 (fetch_test_kernel below) to load the XDP program under its verifier.
TEST_APT_PACKAGES=(
  baresip-core linphone-cli chromium pebble openssh-server sshpass systemd ovmf
  qemu-system-x86 cpio
)
FOR_TESTS=
if [ "${npm_lifecycle_event:-}" = test ] || [ "${1:-}" = --test ]; then
  APT_PACKAGES+=("${TEST_APT_PACKAGES[@]}")
  FOR_TESTS=1
fi

log() { printf 'bootstrap: %s\n' "$*" >&2; }

install_debian_packages() {
  local missing=()
  for pkg in "${APT_PACKAGES[@]}"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || missing+=("$pkg")
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ "$(id -u)" -ne 0 ]; then
    log "not root: cannot install ${missing[*]} (kernel features and some tests will be unavailable)"
    return 0
  fi
  log "installing Debian packages: ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Try with the package lists already present; refresh them once if that fails.
  apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null 2>&1 || {
    apt-get update -q >/dev/null
    apt-get install -y -q --no-install-recommends "${missing[@]}" >/dev/null
  }
}

# Debian starts kamailio and rtpengine as services when systemd runs; kamailio would take
# SIP's 5060 from tollgate, rtpengine media ports. The benchmarks start their own; the
# services are never wanted here.
keep_peer_services_off() {
  command -v systemctl >/dev/null && [ -d /run/systemd/system ] || return 0
  local unit
  for unit in kamailio rtpengine-daemon; do
    if systemctl is-enabled --quiet "$unit" 2>/dev/null || systemctl is-active --quiet "$unit" 2>/dev/null; then
      log "stopping and disabling the $unit service (the benchmarks run their own)"
      systemctl disable --now "$unit" >/dev/null 2>&1 || true
    fi
  done
}

# The appliance's kernel for tests/dataplane/verifier-kernel61.test.ts: the ISO ships
# linux-image-amd64 (image/auto/config: --linux-flavours amd64), Linux 6.1 on Debian 12,
# whose BPF verifier is older than this machine's. Its vmlinuz and veth.ko (plus a static
# busybox for the VM's init) are taken out of the packages into a cache outside the
# checkout; nothing is installed. Fetched again only when the archive has a newer kernel.
TEST_KERNEL_CACHE=/var/cache/tollgate-tests/linux-6.1
fetch_test_kernel() {
  [ -n "$FOR_TESTS" ] && [ "$(id -u)" -eq 0 ] || return 0
  local pkg tmp
  appliance_kernel() { # the package linux-image-amd64 depends on, e.g. linux-image-6.1.0-57-amd64
    apt-cache depends linux-image-amd64 2>/dev/null |
      sed -n 's/^ *Depends: \(linux-image-6\.1\.[^ ]*\)$/\1/p' | head -n 1 || true
  }
  pkg=$(appliance_kernel)
  [ -n "$pkg" ] || { apt-get update -q >/dev/null && pkg=$(appliance_kernel); }
  if [ -z "$pkg" ]; then
    log "no Linux 6.1 image in the package lists (linux-image-amd64): the kernel 6.1 verifier test cannot run"
    return 0
  fi
  [ -f "$TEST_KERNEL_CACHE/package" ] && [ "$(cat "$TEST_KERNEL_CACHE/package")" = "$pkg" ] && return 0
  log "fetching $pkg and busybox-static into $TEST_KERNEL_CACHE (for the kernel 6.1 verifier test)"
  tmp=$(mktemp -d)
  # apt-get download as root into a root-only directory: apt's sandbox user cannot write
  # there, and says so; the download itself is fine.
  (cd "$tmp" && apt-get download -q "$pkg" busybox-static >/dev/null 2>&1) || {
    apt-get update -q >/dev/null
    (cd "$tmp" && apt-get download -q "$pkg" busybox-static >/dev/null 2>&1)
  }
  mkdir -p "$tmp/x" "$TEST_KERNEL_CACHE"
  dpkg-deb -x "$tmp/${pkg}_"*.deb "$tmp/x"
  dpkg-deb -x "$tmp"/busybox-static_*.deb "$tmp/x"
  install -m 0644 "$tmp"/x/boot/vmlinuz-* "$TEST_KERNEL_CACHE/vmlinuz"
  install -m 0644 "$(find "$tmp/x/lib/modules" -name veth.ko -print -quit)" "$TEST_KERNEL_CACHE/veth.ko"
  install -m 0755 "$tmp/x/bin/busybox" "$TEST_KERNEL_CACHE/busybox"
  echo "$pkg" >"$TEST_KERNEL_CACHE/package"
  rm -rf "$tmp"
}

install_npm_packages() {
  local stamp=node_modules/.tollgate-lock-hash want
  want=$(sha256sum package-lock.json | cut -d' ' -f1)
  if [ -L node_modules ]; then
    if [ -e node_modules ]; then
      # A worktree sharing another checkout's packages: `npm ci` here would empty that
      # checkout's node_modules through the link. Install there, never through the link.
      [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] ||
        log "node_modules links to $(readlink node_modules), installed for another package-lock.json: not reinstalling through the link"
      return 0
    fi
    log "node_modules is a link to $(readlink node_modules), which does not exist here: installing in its place"
    rm node_modules
  fi
  if [ -f "$stamp" ] && [ "$(cat "$stamp")" = "$want" ] && [ -x node_modules/.bin/node ]; then
    return 0
  fi
  log "installing npm packages (package-lock.json changed)"
  # `npm ci`: exactly the locked tree, and it fails rather than rewrite package-lock.json.
  # (It once ran `npm install`, because the lockfile lacked other platforms' optional
  # binaries and `npm ci` refused it; the lockfile now lists them all, and `npm ci` in a
  # fresh clone installs the 217 locked packages with the lockfile unchanged, 2026-12-06.)
  npm ci --no-audit --no-fund --loglevel=error
  echo "$want" >"$stamp"
}

# lmdb-js's native part built optimized into dist/lmdb (scripts/build-lmdb.sh says why: the
# published binary is unoptimized, and the encrypted store's page cipher is most of a CDR
# write's CPU). If it cannot be built, the store loads the published binary: same format, slower.
build_lmdb() {
  bash scripts/build-lmdb.sh || log "lmdb's optimized build failed: the store uses lmdb-js's published binary (slower)"
}

build_bpf() {
  [ -f bpf/Makefile ] || return 0
  command -v clang >/dev/null || { log "clang missing: BPF program not built"; return 0; }
  make -s -C bpf
}

build_typescript() {
  local stamp=dist/.tollgate-build-stamp
  prune_stale_outputs
  if [ -f "$stamp" ] && [ -z "$(find src tsconfig.json tsconfig.build.json package-lock.json -newer "$stamp" -print -quit)" ]; then
    return 0
  fi
  log "building TypeScript"
  # node_modules/.bin first so tsc runs on the project's Node 24, not the machine's.
  PATH="$PWD/node_modules/.bin:$PATH" tsc -p tsconfig.build.json
  touch "$stamp"
}

# tsc never deletes what it emitted for a source since removed or renamed: drop each
# dist/**/*.js (and its map) without its src/**/*.ts, so nothing stale runs or ships in the
# .deb. dist/lmdb and dist/ui are built by other steps.
prune_stale_outputs() {
  [ -d dist ] || return 0
  local f rel
  while IFS= read -r -d '' f; do
    rel=${f#dist/}
    rel=${rel%.map}
    [ -f "src/${rel%.js}.ts" ] || rm -f "$f"
  done < <(find dist \( -path dist/lmdb -o -path dist/ui \) -prune -o -type f \( -name '*.js' -o -name '*.js.map' \) -print0)
  find dist -mindepth 1 -type d -empty -delete
}

# The browser side of the web UI (src/webui/ui/browser): bundled by esbuild into dist/ui,
# which the daemon serves. No dev server at run time: `npm start` serves these files.
build_web_ui() {
  local stamp=dist/ui/.tollgate-build-stamp
  if [ -f "$stamp" ] && [ -z "$(find src/webui/ui package-lock.json -newer "$stamp" -print -quit)" ]; then
    return 0
  fi
  log "building the web UI"
  PATH="$PWD/node_modules/.bin:$PATH" node src/webui/ui/build.ts
  touch "$stamp"
}

install_debian_packages
fetch_test_kernel
keep_peer_services_off
install_npm_packages
build_lmdb
build_bpf
build_typescript
build_web_ui
