// Every interface, including bridges and ones added later (issue 16 §2): the daemon in a
// namespace with a bridge puts XDP on the bridge's ports (native on the veth, generic on a
// dummy that has no native XDP: one interface's fallback changes no other), says why the
// bridge itself has none, follows a veth added after start and one removed, and honours
// dataplaneexclude / dataplaneinterfaces patterns. Drops are judged by the kernel counters.
import test from 'ava';
import { startDaemon, testConfig } from '../helpers/daemon.ts';
import { createLink } from '../helpers/netns.ts';
import { tempDir } from '../helpers/tmp.ts';
import {
  bannedAndDropped,
  extraNamespace,
  iface,
  ipIn,
  stats,
  status,
  until,
  xdpProgId,
} from './daemon-kernel.ts';

const UDP_PORT = 7072;

/** Side b becomes a host whose address sits on br0, with veth0 and vx0 as its ports. */
async function bridged(t: Parameters<typeof createLink>[0]) {
  const link = await createLink(t);
  const b = link.b.ns;
  await ipIn(b, ['link', 'add', 'br0', 'type', 'bridge']);
  await ipIn(b, ['addr', 'del', `${link.b.v4}/24`, 'dev', 'veth0']);
  await ipIn(b, ['link', 'set', 'veth0', 'master', 'br0']);
  // vxlan: an Ethernet device without native XDP (this kernel has no dummy module).
  await ipIn(b, ['link', 'add', 'vx0', 'type', 'vxlan', 'id', '42', 'dstport', '4789']);
  await ipIn(b, ['link', 'set', 'vx0', 'master', 'br0']);
  await ipIn(b, ['addr', 'add', `${link.b.v4}/24`, 'dev', 'br0']);
  for (const dev of ['br0', 'vx0']) await ipIn(b, ['link', 'set', dev, 'up']);
  await ipIn(b, ['link', 'add', 'skip0', 'type', 'vxlan', 'id', '43', 'dstport', '4790']);
  return link;
}

test('bridge ports and a veth added after start are protected in XDP; excluded ones are not', async (t) => {
  const link = await bridged(t);
  const dataDir = tempDir(t);
  const configFile = await testConfig(dataDir, {
    sipaddress: '0.0.0.0',
    dataplanemode: 'auto',
    dataplaneexclude: 'skip*',
  });
  const d = await startDaemon(t, { dataDir, configFile, netns: link.b.ns });

  const s = await until('every interface placed', async () => {
    const x = await status(d);
    return iface(x, 'veth0')?.mode === 'xdp' ? x : undefined;
  });
  t.is(iface(s, 'veth0')?.mode, 'xdp', 'native XDP on the bridge port');
  t.regex(iface(s, 'veth0')?.reason ?? '', /port of br0/);
  t.is(iface(s, 'vx0')?.mode, 'xdp-generic', 'a port without native XDP falls back alone');
  t.regex(iface(s, 'vx0')?.reason ?? '', /native XDP refused, generic XDP/);
  t.is(iface(s, 'br0')?.mode, 'none');
  t.regex(iface(s, 'br0')?.reason ?? '', /bridge: XDP goes on its ports \(veth0, vx0\)/);
  t.is(iface(s, 'skip0')?.mode, 'none');
  t.regex(iface(s, 'skip0')?.reason ?? '', /excluded by dataplaneexclude "skip\*"/);
  t.is(iface(s, 'lo')?.reason, 'loopback');
  t.is(await xdpProgId(link.b.ns, 'skip0'), 0, 'nothing attached to the excluded interface');
  t.is(await xdpProgId(link.b.ns, 'br0'), 0, 'nothing attached to the bridge itself');

  t.is((await d.ctl('ban', link.a.v4, '--reason', 'test')).code, 0);
  t.deepEqual(
    await bannedAndDropped(d, {
      fromNs: link.a.ns,
      toNs: link.b.ns,
      to: link.b.v4,
      port: UDP_PORT,
    }),
    { dropped: 20, delivered: 0 },
    'dropped on the bridge port',
  );

  // A veth added after start, from a third namespace.
  const c = await extraNamespace(t);
  await ipIn(link.b.ns, [
    'link',
    'add',
    'vlate',
    'type',
    'veth',
    'peer',
    'name',
    'vpeer',
    'netns',
    c,
  ]);
  await ipIn(link.b.ns, ['addr', 'add', '192.168.77.2/24', 'dev', 'vlate']);
  await ipIn(c, ['addr', 'add', '192.168.77.1/24', 'dev', 'vpeer']);
  await ipIn(link.b.ns, ['link', 'set', 'vlate', 'up']);
  await ipIn(c, ['link', 'set', 'vpeer', 'up']);
  const late = await until('the new veth protected', async () => {
    const x = await status(d);
    return iface(x, 'vlate')?.mode === 'xdp' ? x : undefined;
  });
  t.true(late.dataplane.enforcing);
  t.true((await xdpProgId(link.b.ns, 'vlate')) > 0);
  t.is(
    await xdpProgId(link.b.ns, 'vlate'),
    await xdpProgId(link.b.ns, 'veth0'),
    'the same program',
  );
  t.true((await stats(d)).dataplane.interfaces.includes('vlate'));
  t.is((await d.ctl('ban', '192.168.77.1', '--reason', 'late')).code, 0);
  t.deepEqual(
    await bannedAndDropped(d, { fromNs: c, toNs: link.b.ns, to: '192.168.77.2', port: UDP_PORT }),
    { dropped: 20, delivered: 0 },
    'dropped on the interface that came later',
  );

  // Down is still protected (XDP stays on a down link); removed is forgotten.
  await ipIn(link.b.ns, ['link', 'set', 'vlate', 'down']);
  const down = await until('vlate seen down', async () => {
    const x = await status(d);
    return iface(x, 'vlate')?.up === false ? x : undefined;
  });
  t.is(iface(down, 'vlate')?.mode, 'xdp');
  await ipIn(link.b.ns, ['link', 'del', 'vlate']);
  await until('vlate forgotten', async () =>
    (await stats(d)).dataplane.interfaces.includes('vlate') ? undefined : true,
  );
  t.false(iface(await status(d), 'vlate') !== undefined, 'a removed link is not listed');
  t.is(await d.stop(), 0);
  t.is(await xdpProgId(link.b.ns, 'veth0'), 0, 'a clean stop detaches from every port');
  t.is(await xdpProgId(link.b.ns, 'vx0'), 0);
});

test('dataplaneinterfaces patterns: a bridge named protects its ports, an unmatched veth is left alone', async (t) => {
  const link = await bridged(t);
  const dataDir = tempDir(t);
  const configFile = await testConfig(dataDir, {
    sipaddress: '0.0.0.0',
    dataplanemode: 'auto',
    dataplaneinterfaces: 'br?',
  });
  const d = await startDaemon(t, { dataDir, configFile, netns: link.b.ns });
  const s = await until('the ports placed', async () => {
    const x = await status(d);
    return iface(x, 'veth0')?.mode === 'xdp' && iface(x, 'vx0')?.mode === 'xdp-generic'
      ? x
      : undefined;
  });
  t.regex(iface(s, 'veth0')?.reason ?? '', /port of br0, matches dataplaneinterfaces "br\?"/);
  t.is(iface(s, 'skip0')?.mode, 'none');
  t.is(iface(s, 'skip0')?.reason, 'not matched by dataplaneinterfaces');
  t.is(await xdpProgId(link.b.ns, 'skip0'), 0);
  t.deepEqual((await stats(d)).dataplane.interfaces, ['veth0', 'vx0']);
  t.is(await d.stop(), 0);
});
