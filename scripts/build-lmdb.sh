#!/usr/bin/env bash
# Builds lmdb-js's native part (LMDB, its ChaCha8 page cipher, the N-API binding) from the
# sources npm installed in node_modules/lmdb, optimized (-O3), into dist/lmdb; the store loads
# it instead of the published binary (src/store/lmdb.ts).
#
# Why: the linux-x64 binary published as @lmdb/lmdb-linux-x64 3.5.6 is compiled without
# optimization (objdump: every function keeps its locals on the stack, chacha8's rol32 is a
# call). With the store encrypted, ChaCha8 then takes ~74% of the CPU of a CDR write
# (perf, 100,000 accounts and 1,000,000 CDRs): 317 µs per CDR with the published binary,
# 107 µs with this build, same store, same transactions (README, bench:policy).
#
# Same sources and defines as the package's binding.gyp (its N-API variant, which is the one
# Node 24 loads), headers from the project's own Node (node_modules/node). Idempotent: a stamp
# of the lmdb version and this script skips the build when nothing changed. Without a compiler
# it fails, and the store falls back to the published binary (slower, same format).
set -euo pipefail
cd "$(dirname "$0")/.."

log() { echo "build-lmdb: $*" >&2; }

pkg=node_modules/lmdb
out=dist/lmdb
lib=build/Release/lmdb.node
[ -f "$pkg/package.json" ] || { log "no $pkg: run npm ci first"; exit 1; }
version=$(sed -n 's/^[[:space:]]*"version": "\(.*\)",$/\1/p' "$pkg/package.json" | head -1)
stamp="$version $(cat "$0" scripts/lmdb-patches/*.patch | sha256sum | cut -c1-16)"
if [ -f "$out/$lib" ] && [ "$(cat "$out/STAMP" 2>/dev/null)" = "$stamp" ]; then
  exit 0
fi

headers=$(dirname "$(find node_modules/node/ -path '*/include/node/node_api.h' -print -quit)")
[ -f "$headers/node_api.h" ] || { log "no Node headers under node_modules/node"; exit 1; }
cc=$(command -v clang || command -v cc)
cxx=$(command -v clang++ || command -v c++)

liblmdb=$pkg/dependencies/lmdb/libraries/liblmdb
c_sources=("$liblmdb/chacha8.c" "$liblmdb/midl.c" "$pkg/dependencies/lz4/lib/lz4.c")
cxx_sources=(lmdb-js writer env compression ordered-binary misc txn dbi cursor v8-functions)
includes=(-I"$headers" -I"node_modules/node-addon-api" -I"$pkg/dependencies/lz4/lib" -I"$liblmdb")
# binding.gyp's defines (MDB_MAXKEYSIZE=0: the key size follows the page size; robust
# mutexes) and node-gyp's for an addon; no V8 API (the N-API build).
defines=(-DMDB_MAXKEYSIZE=0 -DNAPI_DISABLE_CPP_EXCEPTIONS -DMDB_USE_ROBUST -DNDEBUG
  -DBUILDING_NODE_EXTENSION -DNODE_GYP_MODULE_NAME=lmdb -D_LARGEFILE_SOURCE -D_FILE_OFFSET_BITS=64)
flags=(-O3 -fPIC -pthread -fvisibility=hidden -fno-omit-frame-pointer -w)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
log "building lmdb $version's native addon, optimized ($cc, $cxx)"
# LMDB itself with tollgate's fixes (scripts/lmdb-patches/*.patch, each says what it fixes);
# a patch that no longer applies stops the build rather than shipping LMDB without it.
cp "$liblmdb/mdb.c" "$work/mdb.c"
for p in scripts/lmdb-patches/*.patch; do
  patch --quiet --no-backup-if-mismatch "$work/mdb.c" "$p" || { log "$p does not apply to lmdb $version"; exit 1; }
done
c_sources+=("$work/mdb.c")
pids=()
for f in "${c_sources[@]}"; do
  "$cc" "${flags[@]}" "${defines[@]}" "${includes[@]}" -c "$f" -o "$work/$(basename "$f").o" &
  pids+=($!)
done
for f in "${cxx_sources[@]}"; do
  "$cxx" -std=gnu++17 -fvisibility-inlines-hidden "${flags[@]}" "${defines[@]}" "${includes[@]}" \
    -c "$pkg/src/$f.cpp" -o "$work/$f.o" &
  pids+=($!)
done
for pid in "${pids[@]}"; do wait "$pid"; done
mkdir -p "$out/build/Release"
"$cxx" -shared -pthread -o "$work/lmdb.node" "$work"/*.o
mv "$work/lmdb.node" "$out/$lib"
echo "$stamp" >"$out/STAMP"
# What the store may rely on (src/store/lmdb-native.ts): the patches this build carries.
for p in scripts/lmdb-patches/*.patch; do basename "$p" .patch; done >"$out/PATCHES"
log "built $out/$lib"
