#!/usr/bin/env bash
# `npm run image`: image/out/tollgate-VERSION-amd64.iso and its .sha256, built with
# live-build from image/auto/config and image/config (Debian 12 packages from the Debian
# archive; tollgate's npm packages from the npm registry, through the .deb `npm run deb`
# makes from this checkout's node_modules).
#
# Reproducible: SOURCE_DATE_EPOCH (the last commit's time unless set) fixes every time stamp
# live-build, xorriso and mksquashfs write; with the same Debian packages (the archive moves:
# pin a snapshot mirror in auto/config for a bit-for-bit rebuild) the ISO is the same.
# Needs root and live-build (apt-get install live-build); the first build downloads about
# 400 MB of packages into image/work/cache, later builds reuse them.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
[ "$(id -u)" -eq 0 ] || { echo "image: live-build needs root" >&2; exit 1; }
need=()
for cmd in lb debootstrap xorriso mksquashfs mkfs.vfat mcopy grub-mkstandalone; do
  PATH="$PATH:/usr/sbin:/sbin" command -v "$cmd" >/dev/null || need+=("$cmd")
done
if [ ${#need[@]} -gt 0 ]; then
  echo "image: installing live-build and its tools (missing: ${need[*]})" >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    live-build debootstrap xorriso squashfs-tools dosfstools mtools grub-pc-bin grub-efi-amd64-bin cpio >/dev/null
fi
VERSION=$(node -p 'require("./package.json").version')
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct)}
WORK=$ROOT/image/work
OUT=$ROOT/image/out
log() { printf 'image: %s\n' "$*" >&2; }

DEB=$(bash pkg/build-deb.sh | tail -1)
log "tollgate package: $DEB"

# A fresh copy of the definition each time; the package cache (cache/) is kept.
mkdir -p "$WORK" "$OUT"
(cd "$WORK" && [ -d config ] && lb clean noauto >/dev/null 2>&1 || true)
rm -rf "$WORK/config" "$WORK/auto" "$WORK"/*.iso "$WORK/build.log"
cp -a image/auto image/config "$WORK/"
# live-build copies the includes with their mtimes, which are when this checkout was made:
# give every file of the definition the build's time instead.
find "$WORK/auto" "$WORK/config" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
mkdir -p "$WORK/config/packages.chroot"
cp "$DEB" "$WORK/config/packages.chroot/"
cd "$WORK"
lb config >/dev/null
started=$(date +%s)
log "lb build (log: $WORK/build.log)"
lb build >/dev/null 2>&1 || { tail -40 build.log >&2; log "lb build failed"; exit 1; }
ISO=$OUT/tollgate-$VERSION-amd64.iso
mv live-image-amd64.hybrid.iso "$ISO"
(cd "$OUT" && sha256sum "$(basename "$ISO")" >"$(basename "$ISO").sha256")
log "$ISO: $(du -h "$ISO" | cut -f1), built in $(( $(date +%s) - started )) s"
echo "$ISO"
