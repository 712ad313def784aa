// The shipped unit's hardening, as `systemd-analyze security` scores it, and what the unit
// must keep saying for the appliance to work (its own user, the store key as a credential).
import { execFileSync } from 'node:child_process';
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
