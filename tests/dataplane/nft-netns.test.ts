// nftables-only mode (no XDP: a driver or kernel without it) against the same scenario as
// xdp-netns.test.ts: the same namespaces, the same sources, the same witnesses, so the two
// files show the same banned source dropped by either layer. tests/dataplane/nft.test.ts
// covers the rest of the nftables driver.
import test, { type ExecutionContext } from 'ava';
import { NftDataplane } from '../../src/dataplane/nft.ts';
import { delivered, type GuardedLink, guardedLink } from '../helpers/guarded-link.ts';
import { sweepStaleNamespaces } from '../helpers/netns.ts';

test.before(async () => {
  await sweepStaleNamespaces();
});

async function setup(
  t: ExecutionContext,
  interfaces: string[],
): Promise<{ g: GuardedLink; dp: NftDataplane }> {
  const g = await guardedLink(t);
  const dp = new NftDataplane({ netns: g.link.b.ns });
  await dp.init({ interfaces, maxConnPerSource: 16 });
  t.teardown(() => dp.close());
  return { g, dp };
}

for (const [label, interfaces] of [
  ['inet prerouting (every interface)', []],
  ['netdev ingress on veth0', ['veth0']],
] as const) {
  test(`nft only, ${label}: the banned source is dropped, v4 and v6; unban lets it through`, async (t) => {
    const { g, dp } = await setup(t, [...interfaces]);
    t.is(dp.mode, 'nft');
    for (const source of [g.link.a.v4, g.link.a.v6]) {
      t.is(await delivered(g, source), 5, `baseline from ${source}`);
      await dp.ban(source, 3600, 'test');
      const before = (await dp.stats()).drops.banned;
      t.is(await delivered(g, source, 20), 0, `the listener sees nothing from ${source}`);
      t.is((await dp.stats()).drops.banned - before, 20, 'the banned counter moved by 20');
      await dp.unban(source);
      t.is(await delivered(g, source), 5, `unbanned ${source} gets through`);
    }
  });
}
