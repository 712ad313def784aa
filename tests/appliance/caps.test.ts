// The daemon under the shipped unit's restrictions, on this kernel: an unprivileged user
// (nobody) holding only the unit's ambient capabilities attaches XDP and enforces a ban;
// one capability less (CAP_PERFMON) and the verifier refuses the program, which shows the
// set is the minimum (CAP_BPF and CAP_NET_ADMIN are checked before anything is tried).
// setpriv(1) gives the process what systemd's User=, AmbientCapabilities= and
// CapabilityBoundingSet= give it; the booted image runs the real unit (image/test-image.sh).
import test from 'ava';
import { createLink, exec } from '../helpers/netns.ts';
import { NOBODY, startAs } from './service-daemon.ts';
import { unitValues } from './unit.ts';

test("as nobody with the unit's ambient capabilities the daemon attaches XDP and bans", async (t) => {
  const caps = unitValues('AmbientCapabilities');
  const link = await createLink(t);
  const d = await startAs(t, { ns: link.b.ns, caps, sipAddress: link.b.v4 });
  t.regex(d.status.dataplane.mode, /^xdp/, d.status.dataplane.reason);
  const shown = (await exec(link.b.ns, ['ip', '-d', 'link', 'show', link.b.ifname])).stdout;
  t.regex(shown, /prog\/xdp id \d+/, 'an XDP program is attached to the SIP interface');
  // Not root: the process runs as nobody.
  const owner = (
    await exec(link.b.ns, ['ps', '-o', 'uid=', '-p', String(d.status.pid)])
  ).stdout.trim();
  t.is(owner, String(NOBODY));
  t.is((await d.ctl('ban', link.a.v4, '--reason', 'caps test')).code, 0);
  const bans = JSON.parse((await d.ctl('bans', '--json')).stdout) as Array<{
    ip: string;
    enforced: boolean;
  }>;
  t.true(
    bans.some((b) => b.ip === link.a.v4 && b.enforced),
    JSON.stringify(bans),
  );
  await d.stop();
  const after = (await exec(link.b.ns, ['ip', '-d', 'link', 'show', link.b.ifname])).stdout;
  t.notRegex(after, /prog\/xdp/, 'detached at stop');
});

test('one capability less (CAP_PERFMON) and XDP is refused: the set is the minimum', async (t) => {
  const caps = unitValues('AmbientCapabilities').filter((c) => c !== 'CAP_PERFMON');
  const link = await createLink(t);
  const d = await startAs(t, { ns: link.b.ns, caps, sipAddress: link.b.v4 });
  t.notRegex(d.status.dataplane.mode, /^xdp/, d.status.dataplane.reason);
  t.regex(d.status.dataplane.reason, /Permission denied|XDP unavailable/);
  await d.stop();
});
