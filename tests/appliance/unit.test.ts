// The shipped unit's hardening, as `systemd-analyze security` scores it, and what the unit
// must keep saying for the appliance to work (its own user, the store key as a credential).
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import test from 'ava';
import { UNIT, unitValues } from './unit.ts';

test('systemd-analyze security --offline scores the shipped unit at 2.0 or below', (t) => {
  const out = execFileSync('systemd-analyze', ['security', '--offline=true', UNIT], {
    encoding: 'utf8',
  });
  const m = /Overall exposure level for tollgate\.service: (\d+\.\d+)/.exec(out);
  t.truthy(m, out.slice(-500));
  const score = Number(m![1]);
  t.log(`exposure ${score}`);
  t.true(
    score <= 2.0,
    `exposure ${score} > 2.0:\n${out
      .split('\n')
      .filter((l) => l.includes('✗'))
      .join('\n')}`,
  );
});

test('the unit runs as its own user with only the dataplane capabilities, ambient', (t) => {
  t.deepEqual(unitValues('User'), ['tollgate']);
  const caps = ['CAP_BPF', 'CAP_NET_ADMIN', 'CAP_NET_BIND_SERVICE', 'CAP_PERFMON'];
  t.deepEqual(unitValues('CapabilityBoundingSet').sort(), caps);
  t.deepEqual(unitValues('AmbientCapabilities').sort(), caps);
  t.deepEqual(unitValues('NoNewPrivileges'), ['yes']);
  t.deepEqual(unitValues('StateDirectory'), ['tollgate']);
  // The store key reaches the daemon as a credential (src/store/key.ts looks there first).
  t.deepEqual(unitValues('LoadCredential'), [
    'tollgate-store-key:/etc/tollgate/credentials/tollgate-store-key',
  ]);
});

/**
 * The system calls SystemCallFilter= leaves allowed, computed as systemd does (systemd.exec:
 * the first line sets allow-list mode, then each line in turn adds its calls, or with `~`
 * takes them away), with the groups expanded by `systemd-analyze syscall-filter`.
 */
function allowedSyscalls(): Set<string> {
  const expand = (name: string): string[] =>
    name.startsWith('@')
      ? execFileSync('systemd-analyze', ['syscall-filter', name], { encoding: 'utf8' })
          .split('\n')
          .slice(1)
          .map((l) => l.trim())
          // A group lists calls and other groups (@system-service holds @basic-io…).
          .flatMap((l) => (l.startsWith('@') ? expand(l) : /^[a-z_0-9]+$/.test(l) ? [l] : []))
      : [name];
  const allowed = new Set<string>();
  const lines = readFileSync(UNIT, 'utf8')
    .split('\n')
    .filter((l) => l.startsWith('SystemCallFilter='));
  for (const line of lines) {
    const value = line.slice('SystemCallFilter='.length);
    const deny = value.startsWith('~');
    for (const name of value.replace(/^~/, '').split(/\s+/).filter(Boolean))
      for (const call of expand(name)) deny ? allowed.delete(call) : allowed.add(call);
  }
  return allowed;
}

test('the system call filter leaves the dataplane bpf(2) and perf_event_open(2), and no reboot, mount or module loading', (t) => {
  t.false(unitValues('SystemCallFilter')[0]!.startsWith('~'), 'an allow list, not a deny list');
  const allowed = allowedSyscalls();
  // Without these the XDP program cannot be loaded (EPERM), and the daemon falls back to
  // nftables: what booting the image found when bpf sat in the allow line before ~@privileged.
  for (const call of ['bpf', 'perf_event_open']) t.true(allowed.has(call), `${call} is allowed`);
  for (const call of [
    'reboot',
    'mount',
    'init_module',
    'kexec_load',
    'ptrace',
    'settimeofday',
    'swapon',
    'chown',
  ])
    t.false(allowed.has(call), `${call} is not allowed`);
  t.true(allowed.has('read') && allowed.has('sendmsg'), 'the service can still run');
});
