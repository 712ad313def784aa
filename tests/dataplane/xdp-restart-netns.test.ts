// A daemon that dies without cleaning up (kill -9, a crash, the OOM killer) leaves its XDP
// program attached, dropping with its own maps. Restarted as the shipped unit runs it (an
// unprivileged user with the unit's capabilities only: no CAP_SYS_ADMIN, so it cannot open
// the old program by id nor read its name), the daemon must take over exactly that program:
// mode xdp again, the stored bans dropped by its new maps, and an unban lets traffic through
// (the dead daemon's maps, which nobody could clear, are gone with its program). A program
// someone else attached is never replaced: the daemon stays on nftables and names it.
import { execFileSync } from 'node:child_process';
import { appendFileSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import test from 'ava';
import { startAs } from '../appliance/service-daemon.ts';
import { unitValues } from '../appliance/unit.ts';
import { createLink, exec } from '../helpers/netns.ts';
import { tempDir } from '../helpers/tmp.ts';
import { arrives, bannedAndDropped, iface, status, until, xdpProgId } from './daemon-kernel.ts';

const UDP_PORT = 7073;
const SPARE = 'tgspare0';
const caps = unitValues('AmbientCapabilities');

/** Warnings that would repeat every reconcile pass if the takeover failed. */
const LOOPING = /XDP refused|interface protection changed|File exists|changed from outside/;

function warnings(log: string): string[] {
  return log
    .split('\n')
    .filter((line) => line.includes('"level":40') || line.includes('"level":"warn"'));
}

test("after kill -9 the restarted daemon (unit's capabilities) takes over its predecessor's XDP program", async (t) => {
  const link = await createLink(t);
  const path = { fromNs: link.a.ns, toNs: link.b.ns, to: link.b.v4, port: UDP_PORT };
  // A second interface the first daemon protects and the restarted one no longer does.
  await exec(link.b.ns, ['ip', 'link', 'add', SPARE, 'type', 'veth', 'peer', 'name', `${SPARE}p`]);
  await exec(link.b.ns, ['ip', 'link', 'set', SPARE, 'up']);
  const first = await startAs(t, {
    ns: link.b.ns,
    caps,
    sipAddress: link.b.v4,
    config: { dataplaneinterfaces: `${link.b.ifname}, ${SPARE}` },
  });
  t.is(first.status.dataplane.mode, 'xdp', first.status.dataplane.reason);
  t.is((await first.ctl('ban', link.a.v4, '--reason', 'restart test')).code, 0);
  t.deepEqual(await bannedAndDropped(first, path), { dropped: 20, delivered: 0 });
  const old = await xdpProgId(link.b.ns, link.b.ifname);
  t.true(old > 0);
  t.is(await xdpProgId(link.b.ns, SPARE), old);

  await first.kill();
  t.is(await xdpProgId(link.b.ns, link.b.ifname), old, 'the dead daemon left its program');
  appendFileSync(join(first.dataDir, 'tollgate.conf'), `dataplaneexclude = ${SPARE}\n`);

  const second = await startAs(t, {
    ns: link.b.ns,
    caps,
    sipAddress: link.b.v4,
    dataDir: first.dataDir,
  });
  const s = await status(second);
  const v = iface(s, link.b.ifname);
  t.is(v?.mode, 'xdp', `no fallback: ${v?.reason}`);
  t.notRegex(v?.reason ?? '', /refused/);
  const now = await xdpProgId(link.b.ns, link.b.ifname);
  t.true(now > 0 && now !== old, `the predecessor's program ${old} was replaced (now ${now})`);
  t.regex(second.log(), /took over the XDP program of a previous tollgate/);
  t.is(await xdpProgId(link.b.ns, SPARE), 0, 'and removed it where it no longer protects');
  t.regex(second.log(), /removed a previous tollgate's XDP program where this one puts none/);

  // The ban is in the store: the new daemon's maps hold it and its program drops it.
  t.deepEqual(await bannedAndDropped(second, path), { dropped: 20, delivered: 0 });
  // And an unban reaches the maps that drop: nothing of the dead daemon's is left.
  t.is((await second.ctl('unban', link.a.v4)).code, 0);
  t.true(await arrives(path), 'the unbanned source gets through');

  t.deepEqual(
    warnings(second.log()).filter((l) => LOOPING.test(l)),
    [],
    'no refusal, no fallback, nothing restored',
  );
  t.is((await status(second)).dataplane.restores, 0);
  await second.stop();
  t.is(await xdpProgId(link.b.ns, link.b.ifname), 0, 'a clean stop detaches its program');
});

test("restarted in mode nft after kill -9, the daemon removes its predecessor's program: an unban is not stuck in it", async (t) => {
  const link = await createLink(t);
  const path = { fromNs: link.a.ns, toNs: link.b.ns, to: link.b.v4, port: UDP_PORT };
  const first = await startAs(t, { ns: link.b.ns, caps, sipAddress: link.b.v4 });
  t.is(first.status.dataplane.mode, 'xdp', first.status.dataplane.reason);
  t.is((await first.ctl('ban', link.a.v4, '--reason', 'restart test')).code, 0);
  const old = await xdpProgId(link.b.ns, link.b.ifname);
  await first.kill();
  t.is(await xdpProgId(link.b.ns, link.b.ifname), old, 'the dead daemon left its program');

  const conf = join(first.dataDir, 'tollgate.conf');
  writeFileSync(
    conf,
    readFileSync(conf, 'utf8').replace(/^dataplanemode = auto$/m, 'dataplanemode = nft'),
  );
  const second = await startAs(t, {
    ns: link.b.ns,
    caps,
    sipAddress: link.b.v4,
    dataDir: first.dataDir,
  });
  t.is(second.status.dataplane.mode, 'nft', second.status.dataplane.reason);
  t.is(await xdpProgId(link.b.ns, link.b.ifname), 0, "the predecessor's program is gone");
  t.regex(second.log(), /removed a previous tollgate's XDP program where this one puts none/);
  // nftables drops the stored ban; the unban lifts it, and no dead XDP map holds it back.
  t.deepEqual(await bannedAndDropped(second, path), { dropped: 20, delivered: 0 });
  t.is((await second.ctl('unban', link.a.v4)).code, 0);
  t.true(await arrives(path), 'the unbanned source gets through');
  await second.stop();
});

/** A trivial XDP program (passes everything) that is not tollgate's. */
function otherProgram(dir: string): string {
  writeFileSync(
    join(dir, 'other.c'),
    '#include <linux/bpf.h>\n#include <bpf/bpf_helpers.h>\n' +
      'SEC("xdp") int other_filter(struct xdp_md *ctx) { return XDP_PASS; }\n' +
      'char LICENSE[] SEC("license") = "GPL";\n',
  );
  const multiarch = execFileSync('clang', ['-print-multiarch'], { encoding: 'utf8' }).trim();
  // biome-ignore format: compiler flags read better on one line
  execFileSync('clang', ['-O2', '-g', '-target', 'bpf', `-I/usr/include/${multiarch}`,
    '-c', join(dir, 'other.c'), '-o', join(dir, 'other.o')]);
  return join(dir, 'other.o');
}

test('a program someone else attached is never replaced: the daemon stays on nftables and names it', async (t) => {
  const link = await createLink(t);
  const obj = otherProgram(tempDir(t));
  await exec(link.b.ns, [
    'ip',
    'link',
    'set',
    'dev',
    link.b.ifname,
    'xdp',
    'obj',
    obj,
    'sec',
    'xdp',
  ]);
  const theirs = await xdpProgId(link.b.ns, link.b.ifname);
  t.true(theirs > 0);

  // Also after a kill -9: the restart takes over only what its data directory attached.
  const first = await startAs(t, { ns: link.b.ns, caps, sipAddress: link.b.v4 });
  await first.kill();
  const d = await startAs(t, {
    ns: link.b.ns,
    caps,
    sipAddress: link.b.v4,
    dataDir: first.dataDir,
  });
  const v = await until('the interface on nftables, naming the program', async () => {
    const i = iface(await status(d), link.b.ifname);
    return i?.mode === 'nft' && i.reason.includes(`id ${theirs}`) ? i : undefined;
  });
  t.regex(v.reason, /XDP refused .*not attached by this tollgate/, v.reason);
  t.is(await xdpProgId(link.b.ns, link.b.ifname), theirs, 'their program is still there');

  // nftables holds the line meanwhile.
  const path = { fromNs: link.a.ns, toNs: link.b.ns, to: link.b.v4, port: UDP_PORT };
  t.is((await d.ctl('ban', link.a.v4, '--reason', 'foreign test')).code, 0);
  t.deepEqual(await bannedAndDropped(d, path), { dropped: 20, delivered: 0 });
  const refusals = warnings(d.log()).filter((l) => LOOPING.test(l));
  t.true(refusals.length <= 1, `refused once, not every pass: ${refusals.join('\n')}`);
  t.notRegex(d.log(), /File exists/, 'never tried to attach over it');

  await d.stop();
  t.is(await xdpProgId(link.b.ns, link.b.ifname), theirs, 'and still there after the stop');
});
