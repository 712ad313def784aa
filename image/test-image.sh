#!/usr/bin/env bash
# `npm run test:image`: the appliance as an operator meets it, checked from outside a VM.
#   1. builds the ISO (npm run image) unless image/out already has one for this version, and
#      checks it ships no secret (no host key, store key, TLS key, tollgate state);
#   2. boots it in qemu (TCG, no KVM) with user networking and host port forwards
#      (SSH 22 → 127.0.0.1:$SSH_PORT, HTTPS 8443 → $HTTPS_PORT, SIP UDP 5060 → $SIP_PORT),
#      an empty 8 GiB SATA disk (/dev/sda in the VM) and a 1 GiB one (/dev/sdb); reads the
#      admin password and the API key first boot shows once on the (serial) console;
#   3. checks: HTTPS answers with the appliance's own certificate (issued by its own CA for
#      the address it has in the VM); the web admin `admin` logs in with the admin password;
#      the API key works and is stored hashed; ssh console@ lands in the tollgate shell and
#      delbanned,all works; `ssh console@ /bin/sh`, -L forwarding and sftp are refused; a
#      SIPp REGISTER with digest succeeds for an account made in the console;
#   4. the guard: with trustlanip off (the host is a LAN address to the VM), svcrack from the
#      host is banned, SSH with it, and the ban is lifted from the root shell on the serial
#      console, after which SSH works again;
#   5. as root on the serial console: tollgate-install refuses a mounted disk and a
#      too small one, then installs to /dev/sda; powers off, boots that disk alone (BIOS),
#      checks the ban and the account are still there, and again with UEFI firmware (OVMF).
# Not part of `npm test`: it takes long (README: "Testing the image"). The VM runs niced.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
VERSION=$(node -p 'require("./package.json").version')
ISO=${ISO:-$ROOT/image/out/tollgate-$VERSION-amd64.iso}
[ -f "$ISO" ] || bash image/build.sh >/dev/null
for cmd in qemu-system-x86_64 qemu-img sshpass sipp svcrack openssl xorriso unsquashfs curl; do
  command -v "$cmd" >/dev/null || DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    qemu-system-x86 qemu-utils ovmf sshpass sip-tester sipvicious openssl xorriso squashfs-tools curl >/dev/null
done
OVMF_CODE=/usr/share/OVMF/OVMF_CODE_4M.fd OVMF_VARS=/usr/share/OVMF/OVMF_VARS_4M.fd
WORK=$(mktemp -d "${TMPDIR:-/tmp}/tollgate-image-test.XXXXXX")
SSH_PORT=${SSH_PORT:-22022} HTTPS_PORT=${HTTPS_PORT:-28443} SIP_PORT=${SIP_PORT:-25060} FWD_PORT=${FWD_PORT:-29922}
QEMU_PID=""
cleanup() {
  [ -z "$QEMU_PID" ] || kill "$QEMU_PID" 2>/dev/null || true
  [ -z "${FWD_PID:-}" ] || kill "$FWD_PID" 2>/dev/null || true
  rm -rf "$WORK"
}
trap cleanup EXIT
started=$(date +%s)
log() { printf 'test:image [%4ss] %s\n' "$(($(date +%s) - started))" "$*" >&2; }
fail() {
  trap - ERR
  log "FAIL: $*"
  tail -40 "$WORK/serial.log" >&2 || true
  diagnose
  exit 1
}
# A command that fails outside a check (a console session that answers nothing, say) fails
# the test with its line, and the appliance's side of the story.
trap 'fail "line $LINENO: a command exited $?"' ERR
diagnose() { # best effort: the daemon's journal and memory, from a root shell on the serial console
  [ -n "${PASSWORD:-}" ] && [ -n "$QEMU_PID" ] && kill -0 "$QEMU_PID" 2>/dev/null || return 0
  log "the appliance's journal (tollgate, first boot) and memory, from the serial console:"
  # Logs in if the console is at its login prompt; if a root shell is already open this waits
  # for a prompt that does not come, and the next step types into that shell.
  python3 image/serial.py "$WORK/serial.sock" 60 '' '' 'login: *$' root 'Password: *$' "$PASSWORD" 'root@[^ ]*# *$' - >/dev/null 2>&1 || true
  python3 image/serial.py "$WORK/serial.sock" 180 '' \
    'journalctl -b --no-pager -o short-monotonic -u tollgate -u tollgate-firstboot-admin | tail -80; free -m; echo DIAG=$?' 'DIAG=[0-9]+' - || true
}
ok() { log "ok: $*"; }

# ── 1. The ISO ships no secret ───────────────────────────────────────────────────────────
# Every appliance makes its own at first boot; one in the image would be every appliance's.
xorriso -osirrox on -indev "$ISO" -extract /live/filesystem.squashfs "$WORK/fs.squashfs" >/dev/null 2>&1 ||
  fail "no /live/filesystem.squashfs in $ISO"
unsquashfs -lc "$WORK/fs.squashfs" >"$WORK/files.txt"
shared=$(grep -E '^squashfs-root/(etc/ssh/ssh_host_|etc/tollgate/credentials/.|etc/ssl/private/.|var/lib/tollgate/.|var/lib/tollgate-appliance/.|var/lib/systemd/random-seed)' "$WORK/files.txt" || true)
[ -z "$shared" ] || fail "the ISO ships secrets every appliance would share: $shared"
unsquashfs -q -d "$WORK/etc" "$WORK/fs.squashfs" etc/machine-id >/dev/null
[ ! -s "$WORK/etc/etc/machine-id" ] || fail "the ISO ships a machine-id"
rm -f "$WORK/fs.squashfs"
ok "the ISO ships no host key, store key, TLS key, tollgate state or machine-id"

qemu-img create -q -f qcow2 "$WORK/disk.qcow2" 8G
qemu-img create -q -f qcow2 "$WORK/small.qcow2" 1G
# -serial: a Unix socket image/serial.py types into (root login, tollgate-install) and a log
# of everything the appliance writes there (the admin password, shown once).
# The disks hang off an AHCI controller, as on a PC: /dev/sda and /dev/sdb in the VM.
boot() { # boot QEMU-ARGS...
  : >"$WORK/serial.log"
  nice -n 10 qemu-system-x86_64 -accel tcg -m 2048 -smp 2 -display none -no-reboot \
    -chardev socket,id=s0,path="$WORK/serial.sock",server=on,wait=off,logfile="$WORK/serial.log" \
    -serial chardev:s0 \
    -netdev user,id=n0,hostfwd=tcp:127.0.0.1:$SSH_PORT-:22,hostfwd=tcp:127.0.0.1:$HTTPS_PORT-:8443,hostfwd=udp:127.0.0.1:$SIP_PORT-:5060 \
    -device virtio-net-pci,netdev=n0 \
    -device ahci,id=ahci \
    -drive if=none,id=d0,file="$WORK/disk.qcow2",format=qcow2 -device ide-hd,drive=d0,bus=ahci.0 \
    "$@" &
  QEMU_PID=$!
}
halt() { # poweroff from the root shell serial.py left logged in, and wait for qemu to end
  python3 image/serial.py "$WORK/serial.sock" 60 '' 'poweroff' || true
  local until=$(($(date +%s) + 600))
  while kill -0 "$QEMU_PID" 2>/dev/null; do
    [ "$(date +%s)" -lt "$until" ] || fail "the appliance did not power off"
    sleep 2
  done
  wait "$QEMU_PID" || true
  QEMU_PID=""
}
wait_for() { # wait_for SECONDS WHAT COMMAND...
  local until=$(($(date +%s) + $1)) what=$2
  shift 2
  until "$@" >/dev/null 2>&1; do
    [ "$(date +%s)" -lt "$until" ] || fail "no $what after $(($(date +%s) - started)) s"
    kill -0 "$QEMU_PID" 2>/dev/null || fail "qemu exited while waiting for $what"
    sleep 5
  done
}
SSH=(-p "$SSH_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=20 -o LogLevel=ERROR)
console() { sshpass -p "$PASSWORD" ssh "${SSH[@]}" -o PubkeyAuthentication=no console@127.0.0.1 "$@"; }
# Up: the console answers and the daemon has finished its start (the kernel holds its
# ruleset: `enforcing: true`); before that the console already answers, the guard not yet.
console_up() { printf 'status\n' | console 2>/dev/null | grep -q 'enforcing: true'; }
root_login() { # root on the serial console, as at the local console
  python3 image/serial.py "$WORK/serial.sock" 300 '' '' 'login: *$' root 'Password: *$' "$PASSWORD" 'root@[^ ]*# *$' - ||
    fail "root login on the serial console"
}
as_root() { # as_root SECONDS COMMAND: runs COMMAND in the logged-in root shell, prints what it printed
  local marker=DONE$RANDOM
  python3 image/serial.py "$WORK/serial.sock" "$1" '' "$2; echo $marker=\$?" "$marker=[0-9]+" - 2>"$WORK/as_root.out" ||
    fail "no end of '$2' on the serial console: $(tail -c 600 "$WORK/as_root.out")"
  cat "$WORK/as_root.out"
}

# ── 2. First boot of the ISO ─────────────────────────────────────────────────────────────
log "booting $ISO (TCG; minutes)"
boot -cdrom "$ISO" -boot d -drive if=none,id=d1,file="$WORK/small.qcow2",format=qcow2 -device ide-hd,drive=d1,bus=ahci.1
wait_for 1800 "admin password on the serial console" grep -q 'HTTP API key' "$WORK/serial.log"
PASSWORD=$(grep -A5 'the admin password' "$WORK/serial.log" | grep -oE '[a-zA-Z0-9]{5}(-[a-zA-Z0-9]{5}){3}' | head -1)
APIKEY=$(grep -A3 'HTTP API key' "$WORK/serial.log" | grep -oE '\b[0-9a-f]{48}\b' | head -1)
[ -n "$PASSWORD" ] || fail "the admin password could not be read from the serial console"
[ -n "$APIKEY" ] || fail "the API key could not be read from the serial console"
ok "first boot showed the admin password and the API key on the console"
wait_for 1800 "SSH console" console_up
ok "ssh console@ lands in the tollgate shell ($(($(date +%s) - started)) s after power-on)"
status=$(printf 'status\n' | console)
# XDP (or xdp-generic), as status reports it: not the word alone, which a fallback's reason holds.
grep -qE 'mode: xdp' <<<"$status" || fail "the dataplane is not XDP under the hardened unit: $(grep -A3 '^dataplane' <<<"$status")"
ok "the daemon runs under the shipped unit and attached XDP"

# ── 3. From outside ──────────────────────────────────────────────────────────────────────
# HTTPS: the appliance's own certificate: issued by the CA it made at its first start (the
# chain it serves), naming the address it has here (10.0.2.15 on qemu's user network), so it
# was made on this appliance, not at build time (the ISO has no TLS key: checked above).
wait_for 900 "HTTPS" sh -c "openssl s_client -connect 127.0.0.1:$HTTPS_PORT </dev/null 2>/dev/null | grep -q 'BEGIN CERTIFICATE'"
openssl s_client -connect 127.0.0.1:$HTTPS_PORT -showcerts </dev/null >"$WORK/s_client.txt" 2>/dev/null || true
# The chain it served, one PEM file per certificate: chain1.pem the server's, chain2.pem the CA.
awk -v dir="$WORK" '/BEGIN CERTIFICATE/ { n++; out = dir "/chain" n ".pem" } out { print > out } /END CERTIFICATE/ { close(out); out = "" }' "$WORK/s_client.txt"
[ -f "$WORK/chain1.pem" ] && [ -f "$WORK/chain2.pem" ] || fail "HTTPS did not serve the certificate and its CA"
openssl verify -CAfile "$WORK/chain2.pem" "$WORK/chain1.pem" >/dev/null 2>&1 || fail "the HTTPS certificate is not issued by the CA it serves"
san=$(openssl x509 -in "$WORK/chain1.pem" -noout -ext subjectAltName)
grep -q 'IP Address:10.0.2.15' <<<"$san" || fail "the HTTPS certificate does not name the appliance's address: $san"
ok "HTTPS answers with the appliance's own certificate ($(openssl x509 -in "$WORK/chain1.pem" -noout -fingerprint -sha256 | cut -d= -f2 | cut -c1-23)…, CA $(openssl x509 -in "$WORK/chain2.pem" -noout -subject | sed 's/^subject=//'))"

# The web UI: the admin account first boot made (once the daemon answers: seconds after the
# console does) logs in with the admin password. Waited for in the console, not by trying to
# log in: every failed login counts towards a ban of the address the test comes from.
admin_made() { printf 'admins list\n' | console 2>/dev/null | grep -qw admin; }
wait_for 900 "the web admin account" admin_made
HTTPS=https://127.0.0.1:$HTTPS_PORT
login=$(curl -sk --max-time 60 -H 'content-type: application/json' \
  --data "{\"username\":\"admin\",\"password\":\"$PASSWORD\"}" "$HTTPS/api/v1/session")
grep -q '"kind":"admin"' <<<"$login" || fail "web login as admin: $login"
ok "the web UI's admin logs in with the admin password"
# An API client: the admin login and (apidefneedlogin 2, the default) the key shown once; the
# config holds only the key's hash (the audit reports a key kept in clear).
BASIC=(-u "admin:$PASSWORD")
code=$(curl -sk --max-time 60 -o /dev/null -w '%{http_code}' "${BASIC[@]}" -H "X-API-Key: $APIKEY" "$HTTPS/api/v1/status")
[ "$code" = 200 ] || fail "GET /api/v1/status with the admin login and the API key: HTTP $code"
code=$(curl -sk --max-time 60 -o /dev/null -w '%{http_code}' "${BASIC[@]}" "$HTTPS/api/v1/status")
[ "$code" = 401 ] || fail "GET /api/v1/status without the API key: HTTP $code"
audit=$(printf 'audit\n' | console || true)
grep -q 'httpapikey is' <<<"$audit" && fail "the audit finds httpapikey weak or in clear: $(grep httpapikey <<<"$audit")"
ok "the API key works with the admin login, is needed, and is stored hashed (audit)"

# The console: a ban lifted with delbanned,all; an account for SIPp; a ban and an account to
# survive the installation.
out=$(printf 'ban 192.0.2.44 --reason image-test\ndelbanned,all\nban 203.0.113.50 --ttl 7d --reason survives-reboot\nusers add imagetest --password-stdin\nImage-Test-Pw-4k9v-Zt\nbans\n' | console)
grep -q 'lifted 1 ban' <<<"$out" || fail "delbanned,all: $out"
grep -q '203.0.113.50' <<<"$out" || fail "ban: $out"
ok "delbanned,all works; a ban and the account imagetest made"
if console /bin/sh -c 'echo escaped' >"$WORK/sh.out" 2>&1; then fail "ssh console@ /bin/sh exited 0: $(cat "$WORK/sh.out")"; fi
grep -q escaped "$WORK/sh.out" && fail "a command ran: $(cat "$WORK/sh.out")"
grep -q 'not accepted' "$WORK/sh.out" || fail "ssh console@ /bin/sh: no refusal said: $(cat "$WORK/sh.out")"
ok "ssh console@ /bin/sh refused"
if printf 'ls /\n' | sshpass -p "$PASSWORD" sftp -b - -P "$SSH_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null console@127.0.0.1 >"$WORK/sftp.out" 2>&1; then
  fail "sftp worked: $(cat "$WORK/sftp.out")"
fi
ok "sftp refused"
# -L: the client listens, the appliance must refuse to open the channel to its own sshd.
# (LogLevel INFO: ssh reports a refused channel, "open failed", at that level.)
sshpass -p "$PASSWORD" ssh -p "$SSH_PORT" -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null -o ConnectTimeout=20 -o LogLevel=INFO -o PubkeyAuthentication=no -N -L "127.0.0.1:$FWD_PORT:127.0.0.1:22" console@127.0.0.1 2>"$WORK/forward.log" &
FWD_PID=$!
wait_for 120 "the -L listener" bash -c "exec 3<>/dev/tcp/127.0.0.1/$FWD_PORT"
banner=$(timeout 20 bash -c "exec 3<>/dev/tcp/127.0.0.1/$FWD_PORT; head -c 20 <&3" 2>/dev/null || true)
grep -q SSH- <<<"$banner" && fail "-L forwarding carried traffic"
kill "$FWD_PID" 2>/dev/null || true
wait "$FWD_PID" 2>/dev/null || true
FWD_PID=""
grep -qi 'prohibited\|open failed' "$WORK/forward.log" || fail "-L: the appliance did not refuse the channel: $(cat "$WORK/forward.log")"
ok "-L forwarding refused ($(grep -i -m1 'open failed' "$WORK/forward.log" | tr -d '\r'))"

# SIPp REGISTER with digest through the forwarded UDP port.
printf 'SEQUENTIAL\nimagetest;tollgate;60\n' >"$WORK/users.csv"
(cd "$WORK" && sipp -sf "$ROOT/tests/sipp/register.xml" -inf users.csv -au imagetest -ap Image-Test-Pw-4k9v-Zt \
  -m 1 -timeout 60 -trace_err -error_file sipp.err "127.0.0.1:$SIP_PORT" >/dev/null 2>&1) ||
  fail "SIPp REGISTER with digest failed: $(tail -5 "$WORK/sipp.err" 2>/dev/null)"
ok "SIPp REGISTER with digest succeeded"

# ── 4. The guard, and the local console as the way back in ──────────────────────────────
# To the appliance the host is 10.0.2.2 (qemu's user network), a private address, which the
# default trustlanip trusts: the operator turns that off in the console first. SIPVicious'
# svcrack, as itself, is then banned at its first request (blockua). The ban covers every
# port of the address, SSH included, so it is lifted from the local (serial) console, as an
# operator locked out would; SSH works again after.
out=$(printf 'config set trustlanip false\nconfig get trustlanip\n' | console)
grep -qE 'trustlanip.*false' <<<"$out" || fail "config set trustlanip false: $out"
timeout 30 svcrack -u imagetest -r 100000-100100 --maximumtime 5 "udp://127.0.0.1:$SIP_PORT" >"$WORK/svcrack.out" 2>&1 || true
root_login
out=$(as_root 120 'tollgatectl bans')
grep -q '10\.0\.2\.2' <<<"$out" || fail "svcrack from the host (10.0.2.2) was not banned: $out"
grep -q 'blockua' <<<"$out" || fail "the ban of svcrack does not name blockua: $out"
console_up && fail "SSH from the banned address still reaches the console"
out=$(as_root 120 'tollgatectl delbanned,10.0.2.2')
wait_for 300 "the SSH console after the unban" console_up
ok "svcrack from the host banned at its first request (blockua), SSH with it; lifted from the local console, SSH back"

# ── 5. Install from the local (serial) console, then boot the disk alone ─────────────────
out=$(as_root 300 'mkfs.ext4 -q -F /dev/sdb && mount /dev/sdb /mnt && tollgate-install /dev/sdb; umount /mnt')
grep -q '/dev/sdb is mounted' <<<"$out" || fail "tollgate-install did not refuse a mounted disk: $out"
out=$(as_root 300 'tollgate-install /dev/sdb')
grep -q '/dev/sdb is too small' <<<"$out" || fail "tollgate-install did not refuse a 1 GiB disk: $out"
ok "tollgate-install refuses a mounted disk and a too small one, saying why"
log "tollgate-install /dev/sda (copies the system: 30–90 minutes under TCG on a busy host)"
out=$(as_root 7200 'tollgate-install /dev/sda')
grep -qE 'DONE[0-9]+=0' <<<"$out" || fail "tollgate-install /dev/sda: $(tail -c 800 <<<"$out")"
ok "tollgate-install /dev/sda ($(($(date +%s) - started)) s since power-on)"
# Where the install's time went, as it reported its steps.
grep -o 'tollgate-install \[[0-9]*s\]: [^.;(]*' <<<"$out" | while read -r line; do log "  $line"; done
halt

survived() { # survived FIRMWARE: the ban and the account are there after booting the disk
  wait_for 1800 "SSH console on the installed system ($1)" console_up
  local after
  after=$(printf 'bans\nusers list\nstatus\n' | console)
  grep -q '203.0.113.50' <<<"$after" || fail "the ban did not survive ($1): $after"
  grep -q 'imagetest' <<<"$after" || fail "the account did not survive ($1): $after"
  grep -qE 'mode: xdp' <<<"$after" || fail "the installed system's dataplane is not XDP ($1): $after"
  ok "installed disk, $1: boots; the ban and the account survived the reboot ($(($(date +%s) - started)) s)"
}
log "booting the installed disk (BIOS)"
boot -boot c
survived BIOS
root_login
halt
if [ -f "$OVMF_CODE" ] && [ -f "$OVMF_VARS" ]; then
  log "booting the installed disk (UEFI, OVMF)"
  cp "$OVMF_VARS" "$WORK/ovmf-vars.fd"
  boot -drive if=pflash,format=raw,readonly=on,file="$OVMF_CODE" -drive if=pflash,format=raw,file="$WORK/ovmf-vars.fd"
  survived UEFI
else
  log "skipped: UEFI boot (no $OVMF_CODE: apt-get install ovmf)"
fi
log "PASS in $(($(date +%s) - started)) s"
