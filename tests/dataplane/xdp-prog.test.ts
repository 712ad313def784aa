// The XDP guard run by the kernel on crafted frames (BPF_PROG_TEST_RUN): every verdict path,
// checked by its verdict AND by the per-reason counter that must move (and no other).
// Needs root and BPF, as on the appliance and in CI. Each test loads its own guard, so maps
// and counters start empty and tests cannot leak state into each other.
import test, { type ExecutionContext } from 'ava';
import type { CounterName } from '../../src/dataplane/layout.ts';
import { COUNTER_SLOTS, TG_REASON } from '../../src/dataplane/layout.ts';
import type { FloodEvent } from '../../src/dataplane/types.ts';
import { XdpDataplane } from '../../src/dataplane/xdp-dataplane.ts';
import { monotonicNs } from '../../src/dataplane/xdp-events.ts';
import { XdpGuard } from '../../src/dataplane/xdp-guard.ts';
import { ETH_P_8021Q, ETH_P_ARP, type FrameSpec, frame, IPPROTO_ICMP, l3Offset } from './frames.ts';
import { buildBpfObject, eventIntervalMsBehind, lastEventBefore } from './helpers.ts';

const VERDICTS = (Object.keys(COUNTER_SLOTS) as CounterName[]).filter(
  (n) => COUNTER_SLOTS[n] < TG_REASON.TG_C_BAN_EXPIRED,
);

test.before(() => {
  buildBpfObject();
});

function guardFor(t: ExecutionContext): XdpGuard {
  const guard = XdpGuard.load({ capacity: { bannedV4: 1024, bannedV6: 1024, cidr: 1024 } });
  t.teardown(() => guard.close());
  return guard;
}

/** Runs one frame; asserts the verdict and that exactly `counter` moved by one packet. */
function expect(
  t: ExecutionContext,
  guard: XdpGuard,
  input: FrameSpec | Uint8Array,
  verdict: 'pass' | 'drop',
  counter: CounterName,
): void {
  const bytes = input instanceof Uint8Array ? input : frame(input);
  const before = guard.counters();
  const r = guard.testRun(bytes);
  const after = guard.counters();
  t.is(r.verdict, verdict, `verdict for ${counter}`);
  t.is(after[counter].packets - before[counter].packets, 1n, `${counter} packets`);
  t.is(after[counter].bytes - before[counter].bytes, BigInt(bytes.length), `${counter} bytes`);
  const moved = VERDICTS.filter((n) => n !== counter && after[n].packets !== before[n].packets);
  t.deepEqual(moved, [], 'no other verdict counter moved');
}

const SIP = { signalingPorts: [5060, 5061] };

// ---- L2 ----

test('non-IP frames pass as non_ip', (t) => {
  const guard = guardFor(t);
  expect(t, guard, { src: '192.0.2.1', ethertype: ETH_P_ARP }, 'pass', 'non_ip');
});

test('a banned source is found behind one 802.1Q tag and behind 802.1ad + 802.1Q', (t) => {
  const guard = guardFor(t);
  guard.ban('192.0.2.7', 0);
  guard.ban('2001:db8::7', 0);
  expect(t, guard, { src: '192.0.2.7', vlans: [100] }, 'drop', 'banned');
  expect(t, guard, { src: '2001:db8::7', vlans: [100] }, 'drop', 'banned');
  expect(t, guard, { src: '192.0.2.7', vlans: [10, 20] }, 'drop', 'banned');
  expect(t, guard, { src: '2001:db8::7', vlans: [10, 20] }, 'drop', 'banned');
  expect(t, guard, { src: '192.0.2.8', vlans: [10, 20] }, 'pass', 'default');
  expect(t, guard, { src: '2001:db8::8', vlans: [10, 20], dport: 9 }, 'pass', 'default');
});

test('three VLAN tags and a cut VLAN tag are malformed', (t) => {
  const guard = guardFor(t);
  expect(
    t,
    guard,
    { src: '192.0.2.1', vlans: [1, 2, 3], tpids: [ETH_P_8021Q, ETH_P_8021Q, ETH_P_8021Q] },
    'drop',
    'malformed',
  );
  expect(t, guard, { src: '192.0.2.1', vlans: [1], truncate: 16 }, 'drop', 'malformed');
});

test('the kernel refuses a test frame shorter than an Ethernet header', (t) => {
  const guard = guardFor(t);
  t.throws(() => guard.testRun(new Uint8Array(10)), { code: 'TG_DP_TEST_RUN' });
});

// ---- L3 ----

test('IPv4 options are skipped through IHL: ports after them are read correctly', (t) => {
  const guard = guardFor(t);
  guard.configure({ mediaPorts: { min: 20000, max: 20999 }, checkRtpAddr: true });
  guard.openMedia(20000, { ip: '192.0.2.10', port: 30000 });
  const base = { src: '192.0.2.10', dport: 20000, ipOptions: 12 };
  expect(t, guard, { ...base, sport: 30000 }, 'pass', 'rtp_peer');
  expect(t, guard, { ...base, sport: 30002 }, 'drop', 'rtp_source');
  expect(t, guard, { ...base, sport: 30000, ipOptions: 40 }, 'pass', 'rtp_peer');
});

test('inconsistent IPv4 headers are malformed: IHL < 5, version, total length beyond the frame', (t) => {
  const guard = guardFor(t);
  const spec = { src: '192.0.2.1' };
  const l3 = l3Offset(spec);
  const shortIhl = frame(spec);
  shortIhl[l3] = 0x44;
  expect(t, guard, shortIhl, 'drop', 'malformed');
  const badVersion = frame(spec);
  badVersion[l3] = 0x55;
  expect(t, guard, badVersion, 'drop', 'malformed');
  expect(t, guard, { ...spec, payload: 100, truncate: 60, keepLength: true }, 'drop', 'malformed');
});

test('IPv6 extension headers are walked to the UDP header (hop-by-hop, routing, dest, AH)', (t) => {
  const guard = guardFor(t);
  guard.configure({ mediaPorts: { min: 20000, max: 20999 }, checkRtpAddr: true });
  guard.openMedia(20010, { ip: '2001:db8::10', port: 30000 });
  const v6Ext = [
    { type: 0 },
    { type: 43, length: 24 },
    { type: 60, length: 16 },
    { type: 51, length: 16 },
  ];
  const base = { src: '2001:db8::10', dport: 20010, v6Ext };
  expect(t, guard, { ...base, sport: 30000 }, 'pass', 'rtp_peer');
  expect(t, guard, { ...base, sport: 30001 }, 'drop', 'rtp_source');
});

test('IPv6: six extension headers are walked, a seventh is refused as malformed', (t) => {
  const guard = guardFor(t);
  guard.configure(SIP);
  const six = Array.from({ length: 6 }, () => ({ type: 60 }));
  expect(t, guard, { src: '2001:db8::1', dport: 5060, v6Ext: six }, 'pass', 'signaling');
  expect(t, guard, { src: '2001:db8::1', v6Ext: [...six, { type: 60 }] }, 'drop', 'malformed');
});

test('truncated headers at each layer are malformed', (t) => {
  const guard = guardFor(t);
  guard.configure(SIP);
  const v4 = { src: '192.0.2.1' };
  const v6 = { src: '2001:db8::1' };
  const l3 = l3Offset(v4);
  expect(t, guard, { ...v4, truncate: l3 + 10 }, 'drop', 'malformed'); // IPv4 header
  expect(t, guard, { ...v4, ipOptions: 8, truncate: l3 + 24 }, 'drop', 'malformed'); // options
  expect(t, guard, { ...v4, truncate: l3 + 20 + 4 }, 'drop', 'malformed'); // UDP header
  expect(t, guard, { ...v4, proto: 'tcp', truncate: l3 + 20 + 12 }, 'drop', 'malformed'); // TCP
  expect(t, guard, { ...v6, truncate: l3 + 30 }, 'drop', 'malformed'); // IPv6 header
  expect(
    t,
    guard,
    { ...v6, v6Ext: [{ type: 0, length: 16 }], truncate: l3 + 40 + 12 },
    'drop',
    'malformed',
  );
  expect(t, guard, { ...v6, truncate: l3 + 40 + 6 }, 'drop', 'malformed'); // UDP header
  expect(t, guard, { ...v6, payload: 100, truncate: 90, keepLength: true }, 'drop', 'malformed');
});

test('a TCP header with a data offset below 5 words is malformed', (t) => {
  const guard = guardFor(t);
  const spec = { src: '192.0.2.1', proto: 'tcp' as const };
  const bytes = frame(spec);
  bytes[l3Offset(spec) + 20 + 12] = 4 << 4;
  expect(t, guard, bytes, 'drop', 'malformed');
  expect(t, guard, spec, 'pass', 'default');
});

test('protocols other than UDP and TCP pass after the address checks', (t) => {
  const guard = guardFor(t);
  guard.ban('192.0.2.66', 0);
  expect(t, guard, { src: '192.0.2.1', proto: IPPROTO_ICMP }, 'pass', 'other_proto');
  expect(t, guard, { src: '192.0.2.66', proto: IPPROTO_ICMP }, 'drop', 'banned');
});

// ---- fragments ----

test('a first fragment is judged on its ports; non-first fragments follow the policy', (t) => {
  const guard = guardFor(t);
  guard.configure(SIP);
  for (const src of ['192.0.2.1', '2001:db8::1']) {
    expect(
      t,
      guard,
      { src, dport: 5060, fragment: { offset: 0, more: true } },
      'pass',
      'signaling',
    );
    expect(t, guard, { src, fragment: { offset: 1480, more: false } }, 'pass', 'fragment_pass');
  }
  guard.configure({ dropFragments: true });
  for (const src of ['192.0.2.1', '2001:db8::1']) {
    expect(
      t,
      guard,
      { src, dport: 5060, fragment: { offset: 0, more: true } },
      'pass',
      'signaling',
    );
    expect(t, guard, { src, fragment: { offset: 1480, more: true } }, 'drop', 'fragment');
  }
});

test('non-first fragments from a banned source are dropped as banned, not as fragments', (t) => {
  const guard = guardFor(t);
  guard.ban('192.0.2.9', 0);
  guard.ban('2001:db8::9', 0);
  expect(t, guard, { src: '192.0.2.9', fragment: { offset: 8, more: false } }, 'drop', 'banned');
  expect(t, guard, { src: '2001:db8::9', fragment: { offset: 8, more: false } }, 'drop', 'banned');
});

// ---- bans and CIDR rules ----

test('bans drop v4 and v6 sources until lifted', (t) => {
  const guard = guardFor(t);
  guard.ban('192.0.2.7', 3600);
  guard.ban('2001:DB8::0:7', 0);
  expect(t, guard, { src: '192.0.2.7' }, 'drop', 'banned');
  expect(t, guard, { src: '2001:db8::7', proto: 'tcp' }, 'drop', 'banned');
  t.deepEqual(
    guard
      .bans()
      .map((b) => b.ip)
      .sort(),
    ['192.0.2.7', '2001:db8::7'],
  );
  t.true(guard.unban('192.0.2.7'));
  t.false(guard.unban('192.0.2.7'));
  expect(t, guard, { src: '192.0.2.7' }, 'pass', 'default');
  t.is(guard.unbanAll(), 1);
  expect(t, guard, { src: '2001:db8::7', proto: 'tcp' }, 'pass', 'default');
});

test('an expired ban passes and is deleted by the program', (t) => {
  const guard = guardFor(t);
  const past = monotonicNs() - 1_000_000_000n;
  guard.banUntil('192.0.2.20', past);
  guard.banUntil('2001:db8::20', past);
  for (const src of ['192.0.2.20', '2001:db8::20']) {
    const before = guard.counters().ban_expired.packets;
    expect(t, guard, { src }, 'pass', 'default');
    t.is(guard.counters().ban_expired.packets - before, 1n, 'reaped once');
  }
  t.deepEqual(guard.bans(), [], 'expired entries are gone from the maps');
});

test('an allow-listed CIDR beats a ban and a deny rule, in v4 and v6', (t) => {
  const guard = guardFor(t);
  guard.ban('203.0.113.5', 0);
  guard.denyCidr('203.0.113.0/24');
  guard.allowCidr('203.0.113.0/28');
  guard.ban('2001:db8:1::5', 0);
  guard.denyCidr('2001:db8:1::/48');
  guard.allowCidr('2001:db8:1::/64');
  expect(t, guard, { src: '203.0.113.5' }, 'pass', 'allow_cidr');
  expect(t, guard, { src: '2001:db8:1::5' }, 'pass', 'allow_cidr');
  t.true(guard.removeCidr('203.0.113.0/28'));
  expect(t, guard, { src: '203.0.113.5' }, 'drop', 'cidr_deny');
});

test('a deny-listed CIDR drops its whole range until removed', (t) => {
  const guard = guardFor(t);
  guard.denyCidr('198.18.0.0/15');
  guard.denyCidr('2001:db8:bad::/48');
  expect(t, guard, { src: '198.19.255.1' }, 'drop', 'cidr_deny');
  expect(t, guard, { src: '2001:db8:bad:1::1' }, 'drop', 'cidr_deny');
  expect(t, guard, { src: '198.20.0.1' }, 'pass', 'default');
  t.true(guard.removeCidr('198.18.0.0/15'));
  t.false(guard.removeCidr('198.18.0.0/15'));
  expect(t, guard, { src: '198.19.255.1' }, 'pass', 'default');
});

// ---- media (checkrtpaddr) ----

test('RTP: only the registered peer ip:port reaches an allocated media port', (t) => {
  const guard = guardFor(t);
  guard.configure({ mediaPorts: { min: 20000, max: 20999 }, checkRtpAddr: true });
  guard.openMedia(20000, { ip: '192.0.2.10', port: 30000 });
  guard.openMedia(20002, { ip: '2001:db8::10', port: 40000 });
  expect(t, guard, { src: '192.0.2.10', sport: 30000, dport: 20000 }, 'pass', 'rtp_peer');
  expect(t, guard, { src: '192.0.2.10', sport: 30001, dport: 20000 }, 'drop', 'rtp_source');
  expect(t, guard, { src: '192.0.2.11', sport: 30000, dport: 20000 }, 'drop', 'rtp_source');
  expect(t, guard, { src: '2001:db8::10', sport: 40000, dport: 20002 }, 'pass', 'rtp_peer');
  expect(t, guard, { src: '2001:db8::11', sport: 40000, dport: 20002 }, 'drop', 'rtp_source');
  expect(t, guard, { src: '192.0.2.10', sport: 30000, dport: 20004 }, 'drop', 'rtp_unallocated');
  expect(t, guard, { src: '192.0.2.10', sport: 30000, dport: 21000 }, 'pass', 'default');
  expect(
    t,
    guard,
    { src: '192.0.2.11', sport: 30000, dport: 20000, proto: 'tcp' },
    'pass',
    'default',
  );
  guard.closeMedia(20000);
  expect(t, guard, { src: '192.0.2.10', sport: 30000, dport: 20000 }, 'drop', 'rtp_unallocated');
  guard.configure({ checkRtpAddr: false });
  expect(t, guard, { src: '192.0.2.99', sport: 1, dport: 20000 }, 'pass', 'default');
});

// ---- budgets ----

test('per-source budget: burst passes, the next packet drops, a refilled bucket passes again', (t) => {
  const guard = guardFor(t);
  // 1 packet/s: the next packet drops unless a whole second passed since the burst began,
  // which a busy machine may take between two packets at 10/s (100 ms) but not here.
  guard.configure({ ...SIP, sourceRatePps: 1, sourceBurst: 3, floodEventIntervalMs: 600_000 });
  const spec = { src: '192.0.2.30', dport: 5060 };
  for (let i = 0; i < 3; i++) expect(t, guard, spec, 'pass', 'signaling');
  expect(t, guard, spec, 'drop', 'flood');
  expect(t, guard, { ...spec, proto: 'tcp', dport: 5061 }, 'drop', 'flood');
  expect(t, guard, { src: '192.0.2.31', dport: 5060 }, 'pass', 'signaling'); // another source: own bucket
  expect(t, guard, { ...spec, dport: 9999 }, 'pass', 'default'); // not a signaling port
  // Refill without sleeping: move the theoretical arrival time one second into the past.
  const bucket = guard.bucket('192.0.2.30')!;
  guard.setBucket('192.0.2.30', { ...bucket, tatNs: monotonicNs() - 1_000_000_000n });
  for (let i = 0; i < 3; i++) expect(t, guard, spec, 'pass', 'signaling');
  expect(t, guard, spec, 'drop', 'flood');
});

test('trusted sources are exempt from the budgets; an expired trust is reaped', (t) => {
  const guard = guardFor(t);
  guard.configure({ ...SIP, sourceRatePps: 1, sourceBurst: 1, floodEventIntervalMs: 600_000 });
  expect(t, guard, { src: '2001:db8::30', dport: 5060 }, 'pass', 'signaling');
  expect(t, guard, { src: '2001:db8::30', dport: 5060 }, 'drop', 'flood');
  guard.trust('2001:db8::30', 60);
  for (let i = 0; i < 5; i++)
    expect(t, guard, { src: '2001:db8::30', dport: 5060 }, 'pass', 'trusted');
  guard.trustUntil('2001:db8::30', monotonicNs() - 1n);
  const before = guard.counters().trust_expired.packets;
  expect(t, guard, { src: '2001:db8::30', dport: 5060 }, 'drop', 'flood');
  t.is(guard.counters().trust_expired.packets - before, 1n);
  guard.trust('192.0.2.40', 0);
  t.true(guard.untrust('192.0.2.40'));
  t.false(guard.untrust('192.0.2.40'));
});

test('maxnetworkspeed caps the bytes of unknown sources together; trusted ones are exempt', (t) => {
  const guard = guardFor(t);
  // 8 kbit/s = 1000 bytes/s with a 100-byte burst: a 100-byte frame fills the burst, and a
  // 1400-byte one after it costs 1.4 s, so it drops unless 1.4 s passed in between (a
  // second 100-byte frame would pass after 100 ms, which a busy machine can take).
  guard.configure({ ...SIP, maxNetworkSpeedKbps: 8 });
  expect(t, guard, { src: '192.0.2.50', payload: 58, dport: 5060 }, 'pass', 'signaling');
  expect(t, guard, { src: '192.0.2.51', payload: 1358, dport: 5060 }, 'drop', 'flood_global');
  guard.trust('192.0.2.52', 0);
  expect(t, guard, { src: '192.0.2.52', payload: 18, dport: 5060 }, 'pass', 'trusted');
});

test('one flood event per source per interval, read from the ring buffer', async (t) => {
  const guard = guardFor(t);
  const interval = eventIntervalMsBehind(monotonicNs());
  guard.configure({ ...SIP, sourceRatePps: 1, sourceBurst: 1, floodEventIntervalMs: interval });
  const events: FloodEvent[] = [];
  const unsubscribe = guard.onFlood((e) => events.push(e));
  t.teardown(unsubscribe);
  const sources = ['192.0.2.60', '2001:db8::60'];
  for (const src of sources) {
    expect(t, guard, { src, dport: 5060 }, 'pass', 'signaling');
    for (let i = 0; i < 5; i++) expect(t, guard, { src, dport: 5060 }, 'drop', 'flood');
  }
  guard.pollEvents();
  t.deepEqual(events.map((e) => e.ip).sort(), [...sources].sort(), 'one event per source');
  t.true(
    events.every((e) => e.packets === 1),
    'the first event reports the drop that fired it',
  );
  t.true(
    events.every((e) => Math.abs(e.at - Date.now()) < 60_000),
    'wall-clock time of the event',
  );
  t.is(guard.counters().event_sent.packets, 2n);

  // The interval passes (moved, not slept): the next drop reports the drops since.
  const b = guard.bucket('192.0.2.60')!;
  guard.setBucket('192.0.2.60', { ...b, lastEventNs: lastEventBefore(monotonicNs(), interval) });
  expect(t, guard, { src: '192.0.2.60', dport: 5060 }, 'drop', 'flood');
  guard.pollEvents();
  t.is(events.length, 3);
  t.deepEqual({ ip: events[2]!.ip, packets: events[2]!.packets }, { ip: '192.0.2.60', packets: 5 });

  // Delivered by the timer too, without an explicit poll.
  const b2 = guard.bucket('2001:db8::60')!;
  guard.setBucket('2001:db8::60', { ...b2, lastEventNs: lastEventBefore(monotonicNs(), interval) });
  guard.testRun(frame({ src: '2001:db8::60', dport: 5060 }));
  // Bounded wait on the event itself (a generous deadline: the machine may be busy).
  for (let waited = 0; events.length < 4 && waited < 30_000; waited += 50)
    await new Promise((resolve) => setTimeout(resolve, 50));
  t.is(events.length, 4);
  t.is(events[3]!.ip, '2001:db8::60');
});

// ---- userspace checks and the Dataplane view ----

test('bad input is refused with coded errors before it reaches a map', (t) => {
  const guard = guardFor(t);
  t.throws(() => guard.ban('300.1.1.1', 0), { code: 'TG_DP_BAD_ADDRESS' });
  t.throws(() => guard.ban('192.0.2.1', -1), { code: 'TG_DP_BAD_TTL' });
  t.throws(() => guard.denyCidr('10.0.0.0/33'), { code: 'TG_DP_BAD_CIDR' });
  t.throws(() => guard.openMedia(0, { ip: '192.0.2.1', port: 1 }), { code: 'TG_DP_BAD_PORT' });
  t.throws(() => guard.openMedia(20000, { ip: '192.0.2.1', port: 70000 }), {
    code: 'TG_DP_BAD_PORT',
  });
  t.throws(() => guard.configure({ signalingPorts: [1, 2, 3, 4, 5, 6, 7, 8, 9] }), {
    code: 'TG_DP_BAD_PORT',
  });
  t.throws(() => guard.configure({ mediaPorts: { min: 3000, max: 2000 } }), {
    code: 'TG_DP_BAD_PORT',
  });
  t.throws(() => guard.configure({ sourceRatePps: -1 }), { code: 'TG_DP_BAD_CONFIG' });
  t.throws(() => guard.attach('no-such-if0'), { code: 'TG_DP_NO_INTERFACE' });
  t.throws(() => XdpGuard.load({ objectPath: '/nonexistent.o' }), { code: 'TG_DP_OBJECT_OPEN' });
});

test('a full ban map says so', (t) => {
  const guard = XdpGuard.load({ capacity: { bannedV4: 2 } });
  t.teardown(() => guard.close());
  guard.ban('192.0.2.1', 0);
  guard.ban('192.0.2.2', 0);
  t.throws(() => guard.ban('192.0.2.3', 0), { code: 'TG_DP_MAP_FULL' });
});

test('bans restored in bulk are enforced', (t) => {
  const guard = guardFor(t);
  const count = 1000;
  const keys = new Uint8Array(count * 4);
  for (let i = 0; i < count; i++) keys.set([10, 1, i >> 8, i & 255], i * 4);
  guard.banManyV4(keys, count, 0n, 300);
  t.is(guard.bans().length, count);
  expect(t, guard, { src: '10.1.3.231' }, 'drop', 'banned');
  expect(t, guard, { src: '10.1.3.232' }, 'pass', 'default');
});

test('the Dataplane view reports drops by reason and refuses use after close', async (t) => {
  const guard = XdpGuard.load();
  const dp = new XdpDataplane(guard);
  guard.configure({ ...SIP, sourceRatePps: 1, sourceBurst: 1, maxNetworkSpeedKbps: 0 });
  await dp.ban('192.0.2.70', 0);
  guard.testRun(frame({ src: '192.0.2.70', dport: 5060 }));
  guard.testRun(frame({ src: '192.0.2.71', dport: 5060 }));
  guard.testRun(frame({ src: '192.0.2.71', dport: 5060 }));
  const stats = await dp.stats();
  t.is(stats.mode, 'xdp');
  t.deepEqual(stats.interfaces, []);
  t.like(stats.drops, { banned: 1, flood: 1, cidr_deny: 0, rtp_source: 0, malformed: 0 });
  t.is(stats.passed, 1);
  await dp.unban('all');
  guard.testRun(frame({ src: '192.0.2.70', dport: 80 }));
  t.is((await dp.stats()).passed, 2);
  await dp.close();
  await t.throwsAsync(() => dp.ban('192.0.2.1', 0), { code: 'TG_DP_CLOSED' });
});

test('overlapping v4 rules: removing one keeps the other in force (CIDR hint counts)', (t) => {
  const guard = guardFor(t);
  guard.denyCidr('198.51.0.0/16');
  guard.denyCidr('198.51.100.0/24');
  guard.denyCidr('198.51.100.0/24'); // twice: idempotent
  guard.denyCidr('198.51.100.7/32');
  t.true(guard.removeCidr('198.51.100.0/24'));
  expect(t, guard, { src: '198.51.100.9' }, 'drop', 'cidr_deny');
  t.true(guard.removeCidr('198.51.0.0/16'));
  expect(t, guard, { src: '198.51.100.9' }, 'pass', 'default');
  expect(t, guard, { src: '198.51.100.7' }, 'drop', 'cidr_deny');
  t.true(guard.removeCidr('198.51.100.7/32'));
  expect(t, guard, { src: '198.51.100.7' }, 'pass', 'default');
  // Prefixes shorter than /24 hint every block they cover, up to the whole space.
  guard.allowCidr('0.0.0.0/0');
  guard.ban('203.0.113.77', 0);
  expect(t, guard, { src: '203.0.113.77' }, 'pass', 'allow_cidr');
  expect(t, guard, { src: '1.2.3.4' }, 'pass', 'allow_cidr');
  guard.removeCidr('0.0.0.0/0');
  expect(t, guard, { src: '203.0.113.77' }, 'drop', 'banned');
});
