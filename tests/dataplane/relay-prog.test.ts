// The relay's forward path run by the kernel on crafted frames (BPF_PROG_TEST_RUN) inside a
// namespace whose FIB answers (tests/helpers/relay-run.ts): the frame the program leaves
// behind is checked byte by byte: MACs from the FIB, new addresses and ports, TTL 64, and
// checksums recomputed in full here (RFC 1071) against the program's incremental ones
// (RFC 1624). Also every case where the kernel must NOT rewrite: the frame goes up intact.
import test from 'ava';
import type { RelayLeg } from '../../src/dataplane/types.ts';
import { NEXT_HOP_MAC, relayRunNamespace } from '../helpers/relay-run.ts';
import { checksumsOf, fillChecksums } from './checksums.ts';
import { type FrameSpec, frame } from './frames.ts';
import { buildBpfObject } from './helpers.ts';

test.before(() => {
  buildBpfObject();
});

const RANGE = { min: 20000, max: 20999 };
const PEER4 = { ip: '198.51.100.10', port: 4000 };
const PEER6 = { ip: '2001:db8:9::10', port: 4000 };

const leg4: RelayLeg = {
  localPort: 20000,
  expectedPeer: PEER4,
  forwardTo: { ip: '192.0.2.2', port: 6000 },
  forwardFrom: { ip: '192.0.2.1', port: 20002 },
};
const leg6: RelayLeg = {
  localPort: 20010,
  expectedPeer: PEER6,
  forwardTo: { ip: '2001:db8:1::2', port: 6000 },
  forwardFrom: { ip: '2001:db8:1::1', port: 20012 },
};

const rtp4: FrameSpec = {
  src: PEER4.ip,
  dst: '198.51.100.1',
  sport: 4000,
  dport: 20000,
  payload: 172,
};
const rtp6: FrameSpec = {
  src: PEER6.ip,
  dst: '2001:db8:9::1',
  sport: 4000,
  dport: 20010,
  payload: 172,
};

function mac(f: Uint8Array, at: number): string {
  return [...f.subarray(at, at + 6)].map((b) => b.toString(16).padStart(2, '0')).join(':');
}
const u16 = (f: Uint8Array, at: number) => (f[at]! << 8) | f[at + 1]!;
const ip4 = (f: Uint8Array, at: number) => [...f.subarray(at, at + 4)].join('.');

test('IPv4: a packet from the peer is rewritten and redirected to the FIB egress; checksums verify', async (t) => {
  const x = await relayRunNamespace(t);
  const input = fillChecksums(frame(rtp4));
  const { results, counters } = await x.run({
    range: RANGE,
    legs: [leg4],
    runs: [{ frame: input }, { frame: input, ingress: 'out0' }],
  });
  const [redirected, tx] = results;
  t.is(redirected!.verdict, 'redirect');
  t.deepEqual(redirected!.moved, ['rtp_forward']);
  t.is(tx!.verdict, 'tx', 'egress = ingress: XDP_TX');
  const out = redirected!.out;
  t.is(out.length, input.length);
  t.is(mac(out, 0), NEXT_HOP_MAC, 'destination MAC from the FIB');
  t.is(ip4(out, 26), '192.0.2.1');
  t.is(ip4(out, 30), '192.0.2.2');
  t.is(out[22], 64, 'TTL');
  t.is(u16(out, 34), 20002);
  t.is(u16(out, 36), 6000);
  t.deepEqual(checksumsOf(out), { ip: true, udp: true });
  t.deepEqual(out.subarray(42), input.subarray(42), 'payload untouched');
  t.like(counters['20000'], { forwardedPackets: 2, forwardedBytes: 2 * input.length });
});

test('IPv4: a UDP checksum of 0 (none) stays 0; the header checksum is still updated', async (t) => {
  const x = await relayRunNamespace(t);
  const input = fillChecksums(frame(rtp4), true);
  const { results } = await x.run({ range: RANGE, legs: [leg4], runs: [{ frame: input }] });
  t.is(results[0]!.verdict, 'redirect');
  t.deepEqual(checksumsOf(results[0]!.out), { ip: true, udp: 'none' });
});

test('IPv4 with options and IPv6: forwarded with verifying checksums and TTL / hop limit 64', async (t) => {
  const x = await relayRunNamespace(t);
  const withOptions = fillChecksums(frame({ ...rtp4, ipOptions: 8 }));
  const v6 = fillChecksums(frame(rtp6));
  const { results } = await x.run({
    range: RANGE,
    legs: [leg4, leg6],
    runs: [{ frame: withOptions }, { frame: v6 }],
  });
  t.is(results[0]!.verdict, 'redirect');
  t.deepEqual(checksumsOf(results[0]!.out), { ip: true, udp: true });
  t.is(u16(results[0]!.out, 14 + 28 + 2), 6000, 'ports found after the options');
  const o6 = results[1]!.out;
  t.is(results[1]!.verdict, 'redirect');
  t.is(o6[21], 64, 'hop limit');
  t.is(u16(o6, 54), 20012);
  t.is(u16(o6, 56), 6000);
  t.deepEqual(checksumsOf(o6), { ip: true, udp: true });
});

test('checksums verify after rewriting for many addresses, ports and payload sizes', async (t) => {
  const x = await relayRunNamespace(t);
  let seed = 12345;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const legs: RelayLeg[] = [];
  const runs: { frame: Uint8Array }[] = [];
  for (let i = 0; i < 40; i++) {
    const v6 = i % 2 === 1;
    const port = 20100 + i;
    const peer = v6
      ? {
          ip: `2001:db8:${rnd(0xffff).toString(16)}::${rnd(0xffff).toString(16)}`,
          port: 1 + rnd(65535),
        }
      : { ip: `${1 + rnd(222)}.${rnd(256)}.${rnd(256)}.${1 + rnd(254)}`, port: 1 + rnd(65535) };
    legs.push({
      localPort: port,
      expectedPeer: peer,
      forwardTo: v6
        ? { ip: '2001:db8:1::2', port: 1 + rnd(65535) }
        : { ip: '192.0.2.2', port: 1 + rnd(65535) },
      forwardFrom: v6
        ? { ip: '2001:db8:1::1', port: 20000 + rnd(999) }
        : { ip: '192.0.2.1', port: 20000 + rnd(999) },
    });
    const f = frame({ src: peer.ip, sport: peer.port, dport: port, payload: rnd(1200) });
    // Random payload bytes: the sum must not depend on the filler.
    for (let j = v6 ? 62 : 42; j < f.length; j++) f[j] = rnd(256);
    runs.push({ frame: fillChecksums(f) });
  }
  const { results } = await x.run({ range: RANGE, legs, runs });
  t.true(results.every((r) => r.verdict === 'redirect'));
  t.deepEqual(
    results.map((r) => checksumsOf(r.out)).filter((c) => !c.ip || c.udp !== true),
    [],
  );
});

test('what the kernel does not rewrite goes up intact: VLAN, fragments, IPv6 extension headers, v4 to a v6 leg', async (t) => {
  const x = await relayRunNamespace(t);
  const v4toV6Leg: RelayLeg = { ...leg6, localPort: 20020, expectedPeer: PEER4 };
  const frames = [
    frame({ ...rtp4, vlans: [100] }),
    frame({ ...rtp4, fragment: { offset: 0, more: true } }),
    frame({ ...rtp6, v6Ext: [{ type: 60 }] }),
    frame({ ...rtp4, dport: 20020 }),
  ];
  const { results, counters } = await x.run({
    range: RANGE,
    legs: [leg4, leg6, v4toV6Leg],
    runs: frames.map((f) => ({ frame: f })),
  });
  results.forEach((r, i) => {
    t.is(r.verdict, 'pass', `case ${i}`);
    t.deepEqual(r.moved, ['rtp_userspace'], `case ${i}`);
    t.deepEqual(r.out, frames[i], `case ${i}: unchanged`);
  });
  t.like(counters['20000'], { forwardedPackets: 0, userspacePackets: 2 });
  t.like(counters['20020'], { userspacePackets: 1 });
});

test('no neighbour for the next hop, or no route: the packet goes up unchanged and is counted', async (t) => {
  const x = await relayRunNamespace(t);
  const noNeigh: RelayLeg = { ...leg4, forwardTo: { ip: '192.0.2.77', port: 6000 } };
  const noRoute: RelayLeg = {
    ...leg4,
    localPort: 20004,
    forwardTo: { ip: '203.0.113.9', port: 6000 },
  };
  const a = fillChecksums(frame(rtp4));
  const b = fillChecksums(frame({ ...rtp4, dport: 20004 }));
  const { results } = await x.run({
    range: RANGE,
    legs: [noNeigh, noRoute],
    runs: [{ frame: a }, { frame: b }],
  });
  t.is(results[0]!.verdict, 'pass');
  t.deepEqual(results[0]!.moved, ['rtp_no_neigh']);
  t.deepEqual(results[0]!.out, a);
  t.is(results[1]!.verdict, 'pass');
  t.deepEqual(results[1]!.moved, ['rtp_no_route']);
  t.deepEqual(results[1]!.out, b);
});
