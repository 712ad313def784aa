// The media relay's source filter in mode nft (no XDP: the userspace relay forwards, nftables
// decides which sources reach its sockets), against the real kernel: nftables in the
// receiving namespace, real datagrams from symmetric-RTP endpoints on the other side, the
// relay's sockets and the per-port element counters as witnesses. Both guard families: inet
// prerouting (no interfaces configured) and netdev ingress on the interface.
//
// Counting drops without sleeping: after the datagrams that must be dropped, the peer sends
// a marker on the same path; once it is in, the ones before it have been dropped or not.
import test from 'ava';
import { NftDataplane } from '../../src/dataplane/nft.ts';
import type { RelayLeg } from '../../src/dataplane/types.ts';
import { createLink, sweepStaleNamespaces } from '../helpers/netns.ts';
import { type UdpListener, udpListener } from '../helpers/packets.ts';
import { rtpPeer } from '../helpers/rtp-peer.ts';

test.before(async () => {
  await sweepStaleNamespaces();
});

const RANGE = { min: 20000, max: 20099 };

for (const guard of ['inet', 'netdev'] as const) {
  test(`${guard}: a leg accepts only its peer, counts the rest per port, and a closed or unallocated port drops everything`, async (t) => {
    const link = await createLink(t);
    const third = link.hostV4(3);
    await link.addAddress(link.a, third);
    const dp = new NftDataplane({ netns: link.b.ns });
    t.teardown(() => dp.close());
    await dp.init({ maxConnPerSource: 3, interfaces: guard === 'netdev' ? ['veth0'] : [] });
    await dp.setMediaGate(RANGE);

    const sockets = new Map<number, UdpListener>();
    for (const port of [20000, 20002, 20004]) {
      const l = await udpListener(link.b.ns, { host: link.b.v4, port });
      t.teardown(() => l.close());
      sockets.set(port, l);
    }
    const peer = await rtpPeer(t, link.a.ns, { host: link.a.v4, port: 4000 });
    const attacker = await rtpPeer(t, link.a.ns, { host: third, port: 4000 });
    const leg = (port: number, expectedPeer: RelayLeg['expectedPeer']): RelayLeg => ({
      localPort: port,
      expectedPeer,
      forwardTo: { ip: '192.0.2.20', port: 6000 },
      forwardFrom: { ip: link.b.v4, port: port + 1 },
    });
    const relay = sockets.get(20000)!;
    const marker = async (tag: string) => {
      await peer.send({ to: link.b.v4, port: 20000, payload: tag });
      await relay.waitFor((d) => d.text.startsWith(tag));
    };

    await dp.openRelay(leg(20000, { ip: link.a.v4, port: 4000 }));
    await peer.send({ to: link.b.v4, port: 20000, count: 5, payload: 'rtp' });
    await attacker.send({ to: link.b.v4, port: 20000, count: 7, payload: 'evil' });
    await marker('m1');
    t.is(relay.received.filter((d) => d.text.startsWith('rtp')).length, 5);
    t.is(
      relay.received.filter((d) => d.text.startsWith('evil')).length,
      0,
      'the third party is dropped',
    );
    t.like(await dp.relayCounters(20000), { forwardedPackets: 6, droppedPackets: 7 });

    // Not latched: any source goes up; latched later: the counts carry over.
    await dp.openRelay(leg(20002, null));
    await attacker.send({ to: link.b.v4, port: 20002, count: 2, payload: 'early' });
    await sockets.get(20002)!.waitFor((d) => d.text.startsWith('early 1'));
    await dp.openRelay(leg(20002, { ip: link.a.v4, port: 4000 }));
    await attacker.send({ to: link.b.v4, port: 20002, count: 3, payload: 'late' });
    await peer.send({ to: link.b.v4, port: 20002, count: 1, payload: 'mine' });
    await sockets.get(20002)!.waitFor((d) => d.text.startsWith('mine'));
    t.is(sockets.get(20002)!.received.filter((d) => d.text.startsWith('late')).length, 0);
    t.like(await dp.relayCounters(20002), {
      userspacePackets: 2,
      droppedPackets: 3,
      forwardedPackets: 1,
    });

    // In the range without a leg: dropped (rtp_unallocated), the socket there sees nothing.
    await peer.send({ to: link.b.v4, port: 20004, count: 4, payload: 'nobody' });
    await marker('m2');
    t.is(sockets.get(20004)!.received.length, 0);
    const final = await dp.closeRelay(20000);
    t.like(final, { forwardedPackets: 7, droppedPackets: 7 });
    t.is(await dp.relayCounters(20000), null);
    await peer.send({ to: link.b.v4, port: 20000, count: 3, payload: 'closed' });
    await peer.send({ to: link.b.v4, port: 20002, payload: 'm3' });
    await sockets.get(20002)!.waitFor((d) => d.text.startsWith('m3'));
    t.is(
      relay.received.filter((d) => d.text.startsWith('closed')).length,
      0,
      'a closed port drops everything',
    );
    const stats = await dp.stats();
    t.is(stats.drops.rtp_unallocated, 4 + 3);
    t.is(stats.drops.rtp_source, 7 + 3);
    t.true(stats.counted.includes('rtp_source'));
  });
}

test('IPv6 legs and the gate lifted: outside a gate nothing in the range is dropped', async (t) => {
  const link = await createLink(t);
  const dp = new NftDataplane({ netns: link.b.ns });
  t.teardown(() => dp.close());
  await dp.init({ maxConnPerSource: 3 });
  const relay = await udpListener(link.b.ns, { host: link.b.v6, port: 20010 });
  t.teardown(() => relay.close());
  const other = await udpListener(link.b.ns, { host: link.b.v6, port: 20012 });
  t.teardown(() => other.close());
  const peer = await rtpPeer(t, link.a.ns, { host: link.a.v6, port: 4000 });
  await dp.openRelay({
    localPort: 20010,
    expectedPeer: { ip: link.a.v6, port: 4000 },
    forwardTo: { ip: '2001:db8::20', port: 6000 },
    forwardFrom: { ip: link.b.v6, port: 20011 },
  });
  await peer.send({ to: link.b.v6, port: 20010, count: 3, payload: 'v6' });
  await relay.waitFor((d) => d.text.startsWith('v6 2'));
  t.like(await dp.relayCounters(20010), { forwardedPackets: 3, droppedPackets: 0 });
  // No gate set: a port without a leg is left alone.
  await peer.send({ to: link.b.v6, port: 20012, payload: 'free' });
  await other.waitFor((d) => d.text.startsWith('free'));
  t.pass();
});
