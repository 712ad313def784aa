#!/usr/bin/env bash
# `npm run test:image`: the appliance as an operator meets it, from outside a VM.
#   1. builds the ISO (npm run image) unless image/out already has one for this version;
#   2. boots it in qemu (TCG, no KVM) with user networking and host port forwards
#      (SSH 22 → 127.0.0.1:$SSH_PORT, HTTPS 8443 → $HTTPS_PORT, SIP UDP 5060 → $SIP_PORT) and a
#      second, empty virtual disk; reads the admin password from the serial console;
#   3. checks: HTTPS answers with the appliance's own certificate; ssh console@ lands in the
#      tollgate shell and delbanned,all works; `ssh console@ /bin/sh`, -L and sftp are
#      refused; a SIPp REGISTER with digest succeeds for an account made in the console;
#   4. logs in as root on the serial console, runs tollgate-install /dev/vdb, powers off,
#      boots from that disk alone, and checks the ban and the account are still there.
# Not part of `npm test`: it takes long (README: "Testing the image").
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VERSION=$(node -p 'require("./package.json").version')
ISO=$ROOT/image/out/tollgate-$VERSION-amd64.iso
[ -f "$ISO" ] || bash image/build.sh >/dev/null
for cmd in qemu-system-x86_64 qemu-img sshpass sipp openssl; do
  command -v "$cmd" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends qemu-system-x86 qemu-utils sshpass sip-tester openssl >/dev/null
done
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tollgate-image-test.XXXXXX")
SSH_PORT=${SSH_PORT:-22022} HTTPS_PORT=${HTTPS_PORT:-28443} SIP_PORT=${SIP_PORT:-25060}
QEMU_PID=""
cleanup() { [ -n "$QEMU_PID" ] && kill "$QEMU_PID" 2>/dev/null; rm -rf "$WORK"; }
trap cleanup EXIT
started=$(date +%s)
log() { printf 'test:image [%4ss] %s\n' "$(( $(date +%s) - started ))" "$*" >&2; }
fail() { log "FAIL: $*"; tail -30 "$WORK/serial.log" >&2 || true; exit 1; }
ok() { log "ok: $*"; }

qemu-img create -q -f qcow2 "$WORK/disk.qcow2" 8G
# -serial: a Unix socket the test types into (root login, tollgate-install) and a log of
# everything the appliance writes there (the admin password, shown once).
boot() { # boot DEVICE-ARGS...
  : >"$WORK/serial.log"
  qemu-system-x86_64 -accel tcg -m 2048 -smp 2 -display none -no-reboot \
    -chardev socket,id=s0,path="$WORK/serial.sock",server=on,wait=off,logfile="$WORK/serial.log" \
    -serial chardev:s0 \
    -netdev user,id=n0,hostfwd=tcp:127.0.0.1:$SSH_PORT-:22,hostfwd=tcp:127.0.0.1:$HTTPS_PORT-:8443,hostfwd=udp:127.0.0.1:$SIP_PORT-:5060 \
    -device virtio-net-pci,netdev=n0 \
    -drive file="$WORK/disk.qcow2",if=virtio,format=qcow2 "$@" &
  QEMU_PID=$!
}
wait_for() { # wait_for SECONDS WHAT COMMAND...
  local until=$(( $(date +%s) + $1 )) what=$2; shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$until" ] || fail "no $what after $(( $(date +%s) - started )) s"
    kill -0 "$QEMU_PID" 2>/dev/null || fail "qemu exited while waiting for $what"
    sleep 5
  done
}
serial_type() { python3 -c 'import socket,sys,time; s=socket.socket(socket.AF_UNIX); s.connect(sys.argv[1]); [ (s.sendall((l+"\r").encode()), time.sleep(2)) for l in sys.argv[2:] ]' "$WORK/serial.sock" "$@"; }
SSH=(-p "$SSH_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=20)
console() { sshpass -p "$PASSWORD" ssh "${SSH[@]}" -o PubkeyAuthentication=no console@127.0.0.1 "$@"; }

log "booting $ISO (TCG; minutes)"
boot -cdrom "$ISO" -boot d
wait_for 1800 "admin password on the serial console" grep -q 'the admin password' "$WORK/serial.log"
PASSWORD=$(grep -A2 'the admin password' "$WORK/serial.log" | grep -oE '[a-zA-Z0-9]{5}(-[a-zA-Z0-9]{5}){3}' | head -1)
[ -n "$PASSWORD" ] || fail "the admin password could not be read from the serial console"
ok "first boot made the admin password (shown once on the console)"
wait_for 1800 "SSH console" sh -c "printf 'status\n' | sshpass -p '$PASSWORD' ssh ${SSH[*]} -o PubkeyAuthentication=no console@127.0.0.1 | grep -q dataplane"
ok "ssh console@ lands in the tollgate shell"
status=$(printf 'status\n' | console)
grep -q 'xdp' <<<"$status" || fail "the dataplane is not XDP under the hardened unit: $status"
ok "the daemon runs under the shipped unit and attached XDP"

# HTTPS: the appliance's own certificate (made at its first start), not a shared one.
wait_for 600 "HTTPS" openssl s_client -connect 127.0.0.1:$HTTPS_PORT -servername tollgate </dev/null
cert=$(openssl s_client -connect 127.0.0.1:$HTTPS_PORT </dev/null 2>/dev/null | openssl x509 -noout -fingerprint -sha256 -subject -issuer)
[ -n "$cert" ] || fail "no certificate on HTTPS"
ok "HTTPS answers: $(tr '\n' ' ' <<<"$cert")"

# The console: a ban lifted with delbanned,all; an account for SIPp; a ban and an account to
# survive the installation.
out=$(printf 'ban 192.0.2.44 --reason image-test\ndelbanned,all\nban 203.0.113.50 --reason survives-reboot\nusers add imagetest --password-stdin\nImage-Test-Pw-4k9v-Zt\nbans\n' | console)
grep -q 'lifted 1 ban' <<<"$out" || fail "delbanned,all: $out"
grep -q '203.0.113.50' <<<"$out" || fail "ban: $out"
ok "delbanned,all works; a ban and the account imagetest made"
if console /bin/sh -c 'echo escaped' 2>/dev/null | grep -q escaped; then fail "a command ran"; fi
ok "ssh console@ /bin/sh refused"
if printf 'ls /\n' | sshpass -p "$PASSWORD" sftp -b - -P "$SSH_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null console@127.0.0.1 >/dev/null 2>&1; then fail "sftp worked"; fi
ok "sftp refused"
sshpass -p "$PASSWORD" ssh "${SSH[@]}" -N -L 127.0.0.1:29922:127.0.0.1:22 console@127.0.0.1 2>"$WORK/forward.log" &
fwd=$!
sleep 10
banner=$(timeout 5 bash -c 'exec 3<>/dev/tcp/127.0.0.1/29922; head -c 20 <&3' 2>/dev/null || true)
kill $fwd 2>/dev/null || true
grep -q SSH- <<<"$banner" && fail "-L forwarding carried traffic"
ok "-L forwarding refused"

# SIPp REGISTER with digest through the forwarded UDP port.
printf 'SEQUENTIAL\nimagetest;tollgate;60\n' >"$WORK/users.csv"
sipp -sf tests/sipp/register.xml -inf "$WORK/users.csv" -au imagetest -ap Image-Test-Pw-4k9v-Zt \
  -m 1 -timeout 60 -trace_err -error_file "$WORK/sipp.err" 127.0.0.1:$SIP_PORT >/dev/null 2>&1 ||
  fail "SIPp REGISTER with digest failed: $(tail -5 "$WORK/sipp.err" 2>/dev/null)"
ok "SIPp REGISTER with digest succeeded"

# Install to the second disk from the local (serial) console, then boot from it alone.
serial_type root "$PASSWORD" 'tollgate-install /dev/vda; echo INSTALL-EXIT=$?'
wait_for 3600 "tollgate-install to finish" grep -q 'INSTALL-EXIT=' "$WORK/serial.log"
grep -q 'INSTALL-EXIT=0' "$WORK/serial.log" || fail "tollgate-install failed"
ok "tollgate-install /dev/vda"
serial_type 'poweroff'
wait "$QEMU_PID" || true
QEMU_PID=""
log "booting the installed disk"
boot -boot c
wait_for 1800 "SSH console on the installed system" sh -c "printf 'status\n' | sshpass -p '$PASSWORD' ssh ${SSH[*]} -o PubkeyAuthentication=no console@127.0.0.1 | grep -q dataplane"
after=$(printf 'bans\nusers list\n' | console)
grep -q '203.0.113.50' <<<"$after" || fail "the ban did not survive: $after"
grep -q 'imagetest' <<<"$after" || fail "the account did not survive: $after"
ok "the ban and the account survived the installation and the reboot"
log "PASS in $(( $(date +%s) - started )) s"
