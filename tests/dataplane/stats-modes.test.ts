// `stats --json` has one shape in every dataplane mode (issue 16 §3): the same keys in
// xdp, nft and off mode, every drop reason present, `counters` naming the kernel layers the
// figures come from and `counted` the reasons the mode can count. nft mode used to fail
// with TG_NFT_FAILED (`list counters table netdev tollgate`).
import test from 'ava';
import { startDaemon, testConfig } from '../helpers/daemon.ts';
import { createLink } from '../helpers/netns.ts';
import { tempDir } from '../helpers/tmp.ts';
import { bannedAndDropped, type Stats, stats, status } from './daemon-kernel.ts';

const REASONS = [
  'banned',
  'cidr_deny',
  'flood',
  'fragment',
  'malformed',
  'rtp_source',
  'rtp_unallocated',
];

function shape(s: Stats): string[] {
  return [
    ...Object.keys(s).map((k) => `.${k}`),
    ...Object.keys(s.dataplane).map((k) => `dataplane.${k}`),
    ...Object.keys(s.drops).map((k) => `drops.${k}`),
  ].sort();
}

const expected = [
  '.connections',
  '.dataplane',
  '.drops',
  '.log',
  '.media',
  '.passed',
  '.transactions',
  '.udp',
  'dataplane.counted',
  'dataplane.counters',
  'dataplane.interfaces',
  'dataplane.mode',
  ...REASONS.map((r) => `drops.${r}`),
].sort();

for (const [mode, counters, counted] of [
  ['auto', ['xdp', 'nft'], REASONS],
  ['nft', ['nft'], ['banned', 'cidr_deny', 'flood', 'rtp_source', 'rtp_unallocated']],
] as const) {
  test(`stats --json in ${mode === 'auto' ? 'xdp' : mode} mode: one shape, counters named, drops counted`, async (t) => {
    const link = await createLink(t);
    const dataDir = tempDir(t);
    const configFile = await testConfig(dataDir, { sipaddress: link.b.v4, dataplanemode: mode });
    const d = await startDaemon(t, { dataDir, configFile, netns: link.b.ns });
    const s = await stats(d);
    t.deepEqual(shape(s), expected);
    t.regex(s.dataplane.mode, mode === 'auto' ? /^xdp/ : /^nft$/);
    t.deepEqual(s.dataplane.counters, [...counters]);
    t.deepEqual([...s.dataplane.counted].sort(), [...counted].sort());
    t.deepEqual(s.dataplane.interfaces, [link.b.ifname]);
    t.is(
      (await status(d)).dataplane.interfaces.find((i) => i.name === 'veth0')?.mode,
      mode === 'auto' ? 'xdp' : 'nft',
    );
    t.is((await d.ctl('ban', link.a.v4)).code, 0);
    t.deepEqual(
      await bannedAndDropped(d, {
        fromNs: link.a.ns,
        toNs: link.b.ns,
        to: link.b.v4,
        port: 7073,
      }),
      { dropped: 20, delivered: 0 },
    );
    t.is(await d.stop(), 0);
  });
}

test('stats --json in off mode: the same shape, nothing counted', async (t) => {
  const d = await startDaemon(t); // testConfig: dataplanemode off
  const s = await stats(d);
  t.deepEqual(shape(s), expected);
  t.is(s.dataplane.mode, 'off');
  t.deepEqual(s.dataplane.counters, []);
  t.deepEqual(s.dataplane.counted, []);
  t.deepEqual(
    Object.values(s.drops),
    REASONS.map(() => 0),
  );
  const st = await status(d);
  t.false(st.dataplane.enforcing);
  t.is(st.dataplane.owner, null);
  t.is(await d.stop(), 0);
});
