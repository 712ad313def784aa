#!/usr/bin/env bash
# `npm run deb`: builds pkg/out/tollgate_VERSION_amd64.deb with dpkg-deb, from this checkout:
#   /usr/lib/tollgate/     package.json, README.md, bin/, dist/ (compiled), bpf/tollgate.bpf.o,
#                          node_modules/ (production dependencies only, with the project's own
#                          Node.js 24 from the `node` package), libexec/tollgate-console
#   /usr/bin/tollgatectl, /usr/sbin/tollgate          links into /usr/lib/tollgate/bin
#   /lib/systemd/system/   tollgate.service, tollgate-sshfeed.service
#   /etc/ssh/sshd_config.d/tollgate-console.conf, /etc/sudoers.d/tollgate-console
# and the maintainer scripts in pkg/debian/. Reproducible: every mtime is SOURCE_DATE_EPOCH
# (the last commit's time unless set), owners are root, the file order is sorted.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VERSION=$(node -p 'require("./package.json").version')
ARCH=amd64
export SOURCE_DATE_EPOCH=${SOURCE_DATE_EPOCH:-$(git log -1 --format=%ct 2>/dev/null || date +%s)}
OUT=${DEB_OUT:-$ROOT/pkg/out}
STAGE=$(mktemp -d "${TMPDIR:-/tmp}/tollgate-deb.XXXXXX")
trap 'rm -rf "$STAGE"' EXIT
log() { printf 'deb: %s\n' "$*" >&2; }

# The build the package ships: BPF object and dist/ (bootstrap builds what changed).
bash scripts/bootstrap.sh >/dev/null
[ -f bpf/tollgate.bpf.o ] && [ -d dist ] || { log "bpf/tollgate.bpf.o or dist/ missing"; exit 1; }

LIB=$STAGE/usr/lib/tollgate
mkdir -p "$LIB/bin" "$LIB/bpf" "$LIB/node_modules" "$STAGE/usr/bin" "$STAGE/usr/sbin" \
  "$STAGE/lib/systemd/system" "$STAGE/DEBIAN" "$STAGE/usr/share/doc/tollgate"
cp package.json README.md "$LIB/"
cp bin/tollgate bin/tollgatectl "$LIB/bin/"
cp bpf/tollgate.bpf.o "$LIB/bpf/"
# dist/ without source maps (they point at src/, which is not shipped).
(cd dist && find . -name '*.js' -print0 | cpio -0pdm --quiet "$LIB/dist")
# lmdb-js's native part, optimized (scripts/build-lmdb.sh), which the store loads first.
[ -f dist/lmdb/build/Release/lmdb.node ] && cp -a dist/lmdb "$LIB/dist/"
cp -a pkg/files/. "$STAGE/"
cp systemd/tollgate.service systemd/tollgate-sshfeed.service "$STAGE/lib/systemd/system/"
ln -s ../lib/tollgate/bin/tollgatectl "$STAGE/usr/bin/tollgatectl"
ln -s ../lib/tollgate/bin/tollgate "$STAGE/usr/sbin/tollgate"

# Production dependencies only: the paths npm itself resolves for them (no install is run).
# npm ls lists the prod tree whatever else node_modules holds.
# A package nested in one already listed comes with it (copying both in one cp breaks the
# hard links npm made between them).
npm ls --omit=dev --all --parseable 2>/dev/null | sed -n "s#^$ROOT/node_modules/##p" | sort -u |
  awk '{ for (i = 1; i <= n; i++) if (index($0, kept[i] "/") == 1) next; kept[++n] = $0; print }' >"$STAGE/prod.list"
[ -s "$STAGE/prod.list" ] || { log "npm ls found no production packages"; exit 1; }
(cd node_modules && tr '\n' '\0' <"$STAGE/prod.list" | xargs -0 cp -a --parents -t "$LIB/node_modules/")
# bin/ runs node_modules/.bin/node: the `node` package's binary.
mkdir -p "$LIB/node_modules/.bin"
ln -s ../node/bin/node "$LIB/node_modules/.bin/node"
[ -x "$LIB/node_modules/node/bin/node" ] || { log "node_modules/node/bin/node missing"; exit 1; }
rm -f "$STAGE/prod.list"
# Other platforms' prebuilt binaries are dead weight on amd64 Linux.
find "$LIB/node_modules" -path '*/prebuilds/*' -type d \( -name 'darwin-*' -o -name 'win32-*' -o -name 'android-*' -o -name 'linux-arm*' -o -name 'freebsd-*' -o -name '*musl*' \) -prune -exec rm -rf {} +

# Maintainer scripts and control file.
install -m 0755 pkg/debian/preinst pkg/debian/postinst pkg/debian/prerm pkg/debian/postrm "$STAGE/DEBIAN/"
install -m 0644 pkg/debian/conffiles "$STAGE/DEBIAN/"
# Installed-Size in KiB from the files' own sizes (du counts the blocks of whatever file
# system the stage is on, which would make two builds of the same tree differ).
SIZE=$(find "$STAGE" -path "$STAGE/DEBIAN" -prune -o \( -type f -o -type l \) -printf '%s\n' |
  awk '{ kib += int(($1 + 1023) / 1024) } END { print kib }')
sed -e "s/@VERSION@/$VERSION/" -e "s/@ARCH@/$ARCH/" -e "s/@SIZE@/$SIZE/" pkg/debian/control.in >"$STAGE/DEBIAN/control"
cat >"$STAGE/usr/share/doc/tollgate/copyright" <<'C'
tollgate: UNLICENSED (proprietary). Bundled npm packages keep their own licenses, in
/usr/lib/tollgate/node_modules/*/LICENSE*.
C

# Reproducible: fixed modes for what git does not record, fixed times.
chmod -R u+rwX,go+rX,go-w "$STAGE"
chmod 0440 "$STAGE/etc/sudoers.d/tollgate-console"
find "$STAGE" -exec touch -h -d "@$SOURCE_DATE_EPOCH" {} +
mkdir -p "$OUT"
DEB=$OUT/tollgate_${VERSION}_${ARCH}.deb
# gzip: xz takes minutes longer for a 280 MB tree on two cores and the ISO compresses it
# again anyway; DEB_COMPRESSION=none for a quick look at the contents (the package test).
dpkg-deb --root-owner-group -Z"${DEB_COMPRESSION:-gzip}" --build "$STAGE" "$DEB" >/dev/null
sha256sum "$DEB" | sed "s#  $OUT/#  #" >"$DEB.sha256"
log "$DEB ($(du -h "$DEB" | cut -f1), sha256 $(cut -c1-16 "$DEB.sha256")…)"
echo "$DEB"
