// The nftables dataplane against the real kernel. Every test builds its own pair of network
// namespaces (tests/helpers/netns.ts) and runs nft inside the receiving one, so the host's
// ruleset is never read or touched; real UDP datagrams and TCP handshakes cross the veth.

import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { INIT_TIMEOUT_MS, NftDataplane, type NftInitOptions } from '../../src/dataplane/nft.ts';
import { createLink, exec, type Link, sweepStaleNamespaces } from '../helpers/netns.ts';
import {
  connectTcp,
  sendUdp,
  tcpServer,
  type UdpListener,
  udpListener,
} from '../helpers/packets.ts';
import { whileBanHolds } from '../helpers/short-ttl.ts';

const NFT = '/usr/sbin/nft';
const SIP = 5060;

test.before(async () => {
  await sweepStaleNamespaces();
});

interface Setup {
  link: Link;
  dp: NftDataplane;
  /** A second source address on side a, never banned: the positive control. */
  otherV4: string;
  otherV6: string;
}

async function setup(t: ExecutionContext, init: Partial<NftInitOptions> = {}): Promise<Setup> {
  const link = await createLink(t);
  const otherV4 = link.hostV4(3);
  const otherV6 = link.hostV6(3);
  await link.addAddress(link.a, otherV4);
  await link.addAddress(link.a, otherV6);
  const dp = new NftDataplane({ netns: link.b.ns });
  await dp.init({ maxConnPerSource: 3, ...init });
  return { link, dp, otherV4, otherV6 };
}

async function tables(ns: string): Promise<{ family: string; name: string }[]> {
  const { stdout } = await exec(ns, [NFT, '-j', 'list', 'tables']);
  const items = (JSON.parse(stdout) as { nftables: Record<string, unknown>[] }).nftables;
  return items.flatMap((i) => {
    const table = i.table as { family: string; name: string } | undefined;
    return table ? [{ family: table.family, name: table.name }] : [];
  });
}

/**
 * The whole ruleset as text, minus what changes by itself: remaining timeouts, and counter
 * values (a veth coming up sends IPv6 neighbour and router solicitations of its own).
 */
async function ruleset(ns: string): Promise<string> {
  const { stdout } = await exec(ns, [NFT, 'list', 'ruleset']);
  return stdout.replace(/ expires \S+/g, '').replace(/packets \d+ bytes \d+/g, 'packets N');
}

/**
 * Sends `count` datagrams from `from`, then a marker from the never-banned `control`
 * address, and waits for the marker: once it is in, anything from `from` that was going to
 * arrive has arrived (same path, same queue). Returns how many from `from` got through.
 */
async function delivered(
  s: Setup,
  listener: UdpListener,
  from: string,
  control: string,
  count = 5,
): Promise<number> {
  const to = from.includes(':') ? s.link.b.v6 : s.link.b.v4;
  const tag = `m${Math.random().toString(36).slice(2)}`;
  const before = listener.received.filter((d) => d.from === from).length;
  await sendUdp(s.link.a.ns, { from, to, port: SIP, count, payload: 'probe' });
  await sendUdp(s.link.a.ns, { from: control, to, port: SIP, payload: tag });
  await listener.waitFor((d) => d.text.startsWith(tag));
  return listener.received.filter((d) => d.from === from).length - before;
}

async function withListener(t: ExecutionContext, s: Setup, host: string): Promise<UdpListener> {
  const listener = await udpListener(s.link.b.ns, { host, port: SIP });
  t.teardown(() => listener.close());
  return listener;
}

test('init creates exactly one tollgate table, and init after a crash replaces it', async (t) => {
  const s = await setup(t);
  const mine = (list: { family: string; name: string }[]) =>
    list.filter((x) => x.name === 'tollgate');
  t.deepEqual(mine(await tables(s.link.b.ns)), [{ family: 'inet', name: 'tollgate' }]);

  await s.dp.ban(s.link.a.v4, 0, 'before the crash');
  // A crash: the first driver is abandoned without close(); a new process starts over.
  const restarted = new NftDataplane({ netns: s.link.b.ns });
  await restarted.init({ maxConnPerSource: 3 });
  t.deepEqual(mine(await tables(s.link.b.ns)), [{ family: 'inet', name: 'tollgate' }]);
  t.deepEqual(await restarted.listBans(), [], 'the stale ruleset is gone, not merged');
  const text = await ruleset(s.link.b.ns);
  t.is(text.match(/chain guard /g)?.length, 1);
  t.is(text.match(/chain conn_limit /g)?.length, 1);
});

test('a ban makes real UDP from the banned source vanish; unban lets it through', async (t) => {
  const s = await setup(t);
  const listener = await withListener(t, s, s.link.b.v4);
  t.is(await delivered(s, listener, s.link.a.v4, s.otherV4), 5, 'baseline: nothing dropped yet');

  await s.dp.ban(s.link.a.v4, 3600, 'sip flood');
  const droppedBefore = (await s.dp.stats()).drops.banned;
  t.is(await delivered(s, listener, s.link.a.v4, s.otherV4), 0, 'the listener sees nothing');
  const stats = await s.dp.stats();
  t.is(stats.drops.banned - droppedBefore, 5, 'the banned counter moved by the datagrams sent');
  t.is(stats.mode, 'nft');

  await s.dp.unban(s.link.a.v4);
  t.is(await delivered(s, listener, s.link.a.v4, s.otherV4), 5);
  t.deepEqual(await s.dp.listBans(), []);
});

test('unban all lifts every ban, v4 and v6', async (t) => {
  const s = await setup(t);
  await s.dp.ban(s.link.a.v4, 0, 'one');
  await s.dp.ban(s.link.a.v6, 60, 'two');
  t.is((await s.dp.listBans()).length, 2);
  await s.dp.unban('all');
  t.deepEqual(await s.dp.listBans(), []);
  await s.dp.unban(s.link.a.v4); // lifting a ban that is not there is not an error
});

test('listBans reads back reason, ttl and the time left; banning again resets the ttl', async (t) => {
  const s = await setup(t);
  await s.dp.ban('203.0.113.7', 60, 'auth failures');
  await s.dp.ban('2001:DB8::0:7', 0, 'scanner');
  await s.dp.ban('203.0.113.7', 7200, 'auth failures again');
  const bans = await s.dp.listBans();
  t.is(bans.length, 2);
  const v4 = bans.find((b) => b.ip === '203.0.113.7');
  t.is(v4?.reason, 'auth failures again');
  t.is(v4?.ttlSeconds, 7200);
  t.true(v4 !== undefined && v4.expiresInSeconds !== null && v4.expiresInSeconds > 60);
  t.deepEqual(
    bans.find((b) => b.ip === '2001:db8::7'),
    { ip: '2001:db8::7', reason: 'scanner', ttlSeconds: 0, expiresInSeconds: null },
    'IPv6 is stored canonically; ttl 0 has no expiry',
  );
});

test('a ban with a short ttl (5 s, longer on a busy machine) expires by itself', async (t) => {
  const s = await setup(t);
  const listener = await withListener(t, s, s.link.b.v4);
  const { held, ttlSeconds } = await whileBanHolds({
    ban: (ttl) => s.dp.ban(s.link.a.v4, ttl, 'short'),
    unban: () => s.dp.unban(s.link.a.v4),
    dropped: async () => (await delivered(s, listener, s.link.a.v4, s.otherV4, 1)) === 0,
    log: (m) => t.log(m),
    firstTtlSeconds: 5,
  });
  t.true(held, `banned at first (ttl ${ttlSeconds} s)`);

  // Poll until the ban has lapsed: bounded, and no assertion on how long it took.
  let passed = 0;
  for (let attempt = 0; attempt < 240 && passed === 0; attempt++) {
    passed = await delivered(s, listener, s.link.a.v4, s.otherV4, 1);
    if (passed === 0) await new Promise((r) => setTimeout(r, 250));
  }
  t.is(passed, 1, 'packets pass again without any unban');
  t.deepEqual(await s.dp.listBans(), [], 'the kernel removed the element');
});

test('deny CIDR drops, and allow CIDR beats both deny and ban', async (t) => {
  const s = await setup(t);
  const listener = await withListener(t, s, s.link.b.v4);

  await s.dp.denyCidr(`${s.link.a.v4}/32`);
  t.is(await delivered(s, listener, s.link.a.v4, s.otherV4), 0);
  t.is((await s.dp.stats()).drops.cidr_deny, 5);

  await s.dp.allowCidr(`${s.link.a.v4}/31`); // host bits set: normalised to the /31
  await s.dp.ban(s.link.a.v4, 0, 'banned but allow-listed');
  t.is(await delivered(s, listener, s.link.a.v4, s.otherV4), 5, 'allow-listed wins');

  await s.dp.removeCidr(`${s.link.a.v4.replace(/\d+$/, (h) => String(Number(h) & ~1))}/31`);
  t.is(await delivered(s, listener, s.link.a.v4, s.otherV4), 0, 'deny and ban apply again');
  const stats = await s.dp.stats();
  t.is(stats.drops.cidr_deny, 10, 'the deny rule comes before the ban');
  t.is(stats.drops.banned, 0);
});

test('nested and overlapping CIDRs are accepted and removed one by one', async (t) => {
  const s = await setup(t);
  const listener = await withListener(t, s, s.link.b.v4);
  await s.dp.denyCidr(s.link.subnetV4.replace(/\.\d+\.0\/24$/, '.0.0/16'));
  await s.dp.denyCidr(s.link.subnetV4);
  await s.dp.denyCidr(`${s.link.a.v4}/32`);
  await s.dp.removeCidr(s.link.subnetV4.replace(/\.\d+\.0\/24$/, '.0.0/16'));
  await s.dp.removeCidr(s.link.subnetV4);
  t.is(await delivered(s, listener, s.link.a.v4, s.otherV4), 0, 'the /32 still denies');
  await s.dp.removeCidr(`${s.link.a.v4}/32`);
  t.is(await delivered(s, listener, s.link.a.v4, s.otherV4), 5);
});

test('replaceCidrs loads both lists in one batch and replaces what was there', async (t) => {
  const s = await setup(t);
  const listener = await withListener(t, s, s.link.b.v4);
  await s.dp.denyCidr('192.0.2.0/24');
  const deny = ['198.51.100.0/24', s.link.subnetV4, `${s.link.a.v4}/32`, '2001:db8::/32'];
  for (let i = 0; i < 2000; i++) deny.push(`172.${16 + (i >> 8)}.${i & 255}.0/24`);
  await s.dp.replaceCidrs({ allow: [`${s.otherV4}/32`], deny });
  t.is(await delivered(s, listener, s.link.a.v4, s.otherV4), 0, 'denied by the bulk list');
  const text = await ruleset(s.link.b.ns);
  t.notRegex(text, /192\.0\.2\.0/, 'the earlier list was replaced, not merged');
  t.regex(text, /172\.16\.0\.0-172\.23\.207\.255/, 'adjacent prefixes merged into one range');
  await t.throwsAsync(s.dp.replaceCidrs({ allow: [], deny: ['10.0.0.0/8', 'nope'] }), {
    code: 'TG_NFT_BAD_CIDR',
  });
  t.is(await ruleset(s.link.b.ns), text, 'a bad entry anywhere changes nothing');
  await s.dp.replaceCidrs({ allow: [], deny: [] });
  t.is(await delivered(s, listener, s.link.a.v4, s.otherV4), 5);
});

test('an IPv6 ban drops real IPv6 datagrams', async (t) => {
  const s = await setup(t);
  const listener = await withListener(t, s, s.link.b.v6);
  t.is(await delivered(s, listener, s.link.a.v6, s.otherV6), 5);
  await s.dp.ban(s.link.a.v6, 600, 'v6 flood');
  t.is(await delivered(s, listener, s.link.a.v6, s.otherV6), 0);
  // At least: neighbour discovery from the banned address is dropped (and counted) too.
  t.true((await s.dp.stats()).drops.banned >= 5);
  await s.dp.unban(s.link.a.v6);
  t.is(await delivered(s, listener, s.link.a.v6, s.otherV6), 5);
});

test('bad input is refused with a coded error naming it, and the ruleset is unchanged', async (t) => {
  const s = await setup(t);
  await s.dp.ban('192.0.2.1', 0, 'existing');
  await s.dp.denyCidr('198.51.100.0/24');
  const before = await ruleset(s.link.b.ns);

  const cases: [() => Promise<unknown>, string, RegExp][] = [
    [() => s.dp.ban('1.2.3.999', 60, 'x'), 'TG_NFT_BAD_IP', /"1\.2\.3\.999"/],
    [() => s.dp.denyCidr('10.0.0.0/33'), 'TG_NFT_BAD_CIDR', /"10\.0\.0\.0\/33".*0\.\.32/],
    [() => s.dp.allowCidr('2001:db8::/129'), 'TG_NFT_BAD_CIDR', /0\.\.128/],
    [() => s.dp.ban('10.0.0.1; flush ruleset', 60, 'x'), 'TG_NFT_BAD_IP', /flush ruleset/],
    [() => s.dp.ban('fe80::1%veth0', 60, 'x'), 'TG_NFT_BAD_IP', /fe80/],
    [() => s.dp.ban('10.0.0.1', -1, 'x'), 'TG_NFT_BAD_TTL', /-1/],
    [() => s.dp.ban('10.0.0.1', 1.5, 'x'), 'TG_NFT_BAD_TTL', /1\.5/],
    [() => s.dp.ban('10.0.0.1', 60, 'line\nbreak'), 'TG_NFT_BAD_REASON', /control/],
    [() => s.dp.unban('everything'), 'TG_NFT_BAD_IP', /everything/],
    [() => s.dp.trust('not-an-ip', 60), 'TG_NFT_BAD_IP', /not-an-ip/],
    [() => s.dp.removeCidr('10.0.0.0/-1'), 'TG_NFT_BAD_CIDR', /-1/],
  ];
  for (const [call, code, message] of cases) {
    const err = await t.throwsAsync(call);
    t.is((err as { code?: string }).code, code, String(call));
    t.regex(err?.message ?? '', message);
  }
  // A batch that fails inside nft is atomic too: banMany validates everything first.
  await t.throwsAsync(
    s.dp.banMany([
      { ip: '192.0.2.50', ttlSeconds: 0, reason: 'fine' },
      { ip: '192.0.2.300', ttlSeconds: 0, reason: 'bad' },
    ]),
    { message: /192\.0\.2\.300/ },
  );
  t.is(await ruleset(s.link.b.ns), before);
});

test('other tables in the namespace are never touched', async (t) => {
  const link = await createLink(t);
  await exec(link.b.ns, [
    NFT,
    'add table ip other; add set ip other keep { type ipv4_addr; elements = { 192.0.2.9 }; }; ' +
      'add chain ip other input { type filter hook input priority 0; policy accept; }; ' +
      'add rule ip other input ip saddr @keep counter accept; add table inet tollgate_not',
  ]);
  const others = async () => {
    const text = await ruleset(link.b.ns);
    return text
      .split(/^table /m)
      .filter(
        (block) => !block.startsWith('inet tollgate {') && !block.startsWith('netdev tollgate {'),
      );
  };
  const before = await others();
  const dp = new NftDataplane({ netns: link.b.ns });
  await dp.init({ maxConnPerSource: 2 });
  await dp.ban('192.0.2.9', 0, 'x');
  await dp.denyCidr('192.0.2.0/24');
  await dp.unban('all');
  await dp.init({ maxConnPerSource: 2 });
  t.deepEqual(await others(), before);
  await dp.close();
  t.deepEqual(await others(), before);
  t.deepEqual(
    (await tables(link.b.ns)).map((x) => `${x.family} ${x.name}`).sort(),
    ['inet tollgate_not', 'ip other'],
    'close() removed only the tollgate table',
  );
  await t.throwsAsync(dp.ban('192.0.2.1', 0, 'x'), { code: 'TG_NFT_NOT_INITIALIZED' });
});

test('TCP connection cap: the N+1th connection from one source is refused, another source still connects', async (t) => {
  const s = await setup(t, { maxConnPerSource: 3, sipTcpPorts: [SIP, 5061] });
  const server = await tcpServer(s.link.b.ns, { host: s.link.b.v4, port: SIP });
  t.teardown(() => server.close());

  const first = await connectTcp(s.link.a.ns, {
    from: s.link.a.v4,
    to: s.link.b.v4,
    port: SIP,
    count: 4,
  });
  t.deepEqual(first, ['connected', 'connected', 'connected', 'refused']);
  const other = await connectTcp(s.link.a.ns, {
    from: s.otherV4,
    to: s.link.b.v4,
    port: SIP,
    count: 1,
  });
  t.deepEqual(other, ['connected']);
  t.is((await s.dp.stats()).drops.flood, 1, 'the refused SYN is counted');

  // A trusted source (registered endpoint, trunk) is not capped.
  await s.dp.trust(s.link.a.v4, 60);
  const trusted = await connectTcp(s.link.a.ns, {
    from: s.link.a.v4,
    to: s.link.b.v4,
    port: SIP,
    count: 5,
  });
  t.deepEqual(trusted, ['connected', 'connected', 'connected', 'connected', 'connected']);
  await s.dp.untrust(s.link.a.v4);
});

test('TCP connection cap applies to IPv6 sources too', async (t) => {
  const s = await setup(t, { maxConnPerSource: 2 });
  const server = await tcpServer(s.link.b.ns, { host: s.link.b.v6, port: 5061 });
  t.teardown(() => server.close());
  const results = await connectTcp(s.link.a.ns, {
    from: s.link.a.v6,
    to: s.link.b.v6,
    port: 5061,
    count: 3,
  });
  t.deepEqual(results, ['connected', 'connected', 'refused']);
});

test('netdev mode: bans are enforced at ingress on the named interface', async (t) => {
  const s = await setup(t, { interfaces: ['veth0'] });
  const listener = await withListener(t, s, s.link.b.v4);
  t.deepEqual(
    (await tables(s.link.b.ns))
      .filter((x) => x.name === 'tollgate')
      .map((x) => x.family)
      .sort(),
    ['inet', 'netdev'],
  );
  t.regex(await ruleset(s.link.b.ns), /type filter hook ingress device "veth0" priority -500/);
  await s.dp.ban(s.link.a.v4, 0, 'ingress');
  t.is(await delivered(s, listener, s.link.a.v4, s.otherV4), 0);
  const stats = await s.dp.stats();
  t.is(stats.drops.banned, 5);
  t.deepEqual(stats.interfaces, ['veth0']);
  t.deepEqual(
    (await s.dp.listBans()).map((b) => [b.ip, b.reason]),
    [[s.link.a.v4, 'ingress']],
  );
  // Allow-listing reaches both tables: the ingress guard and the connection cap.
  await s.dp.allowCidr(`${s.link.a.v4}/32`);
  t.is(await delivered(s, listener, s.link.a.v4, s.otherV4), 5);
  t.regex(await ruleset(s.link.b.ns), /table inet tollgate[\s\S]*set allow_v4[^}]*elements/);
  await s.dp.close();
  t.deepEqual(
    (await tables(s.link.b.ns)).filter((x) => x.name === 'tollgate'),
    [],
  );
});

test('init refuses bad options with coded errors', async (t) => {
  const dp = new NftDataplane({ netns: 'tgt-never-created' });
  await t.throwsAsync(async () => dp.init({ maxConnPerSource: 0 }), { code: 'TG_NFT_BAD_LIMIT' });
  await t.throwsAsync(async () => dp.init({ maxConnPerSource: 5, sipTcpPorts: [70000] }), {
    code: 'TG_NFT_BAD_PORT',
  });
  await t.throwsAsync(async () => dp.init({ maxConnPerSource: 5, interfaces: ['eth0; drop'] }), {
    code: 'TG_NFT_BAD_INTERFACE',
  });
  t.throws(() => new NftDataplane({ netns: '../etc' }), { code: 'TG_NFT_BAD_NETNS' });
});

test('nft failures surface as TG_NFT_FAILED with the message, and leave the driver unusable', async (t) => {
  const dp = new NftDataplane({ netns: `tgt-${process.pid}-does-not-exist` });
  const err = await t.throwsAsync(dp.init({ maxConnPerSource: 3 }));
  t.is((err as { code?: string }).code, 'TG_NFT_FAILED');
  t.regex(err?.message ?? '', /does-not-exist/);
  await t.throwsAsync(dp.ban('192.0.2.1', 0, 'x'), { code: 'TG_NFT_NOT_INITIALIZED' });
});

test('the ruleset build has its own deadline: a slow machine starts, an update still times out', async (t) => {
  // An nft that takes 2 s for anything, as on a starved or emulated CPU, against a per-update
  // deadline of 0.5 s: the build (init) waits for it (INIT_TIMEOUT_MS), a ban does not.
  const link = await createLink(t);
  const dir = await mkdtemp(join(tmpdir(), 'tollgate-slow-nft-'));
  t.teardown(() => rm(dir, { recursive: true, force: true }));
  const slowNft = join(dir, 'nft');
  await writeFile(slowNft, `#!/bin/sh\nsleep 2\nexec ${NFT} "$@"\n`, { mode: 0o700 });
  const dp = new NftDataplane({ netns: link.b.ns, binary: slowNft, timeoutMs: 500 });
  t.true(INIT_TIMEOUT_MS >= 60_000);
  await dp.init({ maxConnPerSource: 3 });
  t.deepEqual(
    (await tables(link.b.ns)).filter((x) => x.name === 'tollgate'),
    [{ family: 'inet', name: 'tollgate' }],
    'the ruleset was built',
  );
  await t.throwsAsync(dp.ban('192.0.2.9', 60, 'x'), { code: 'TG_NFT_TIMEOUT' });
});

test('relay legs are validated as in every mode; flood events are XDP-only', async (t) => {
  const s = await setup(t);
  const leg = {
    localPort: 20000,
    expectedPeer: { ip: s.link.a.v4, port: 4000 },
    forwardTo: { ip: '192.0.2.20', port: 5000 },
    forwardFrom: { ip: s.link.b.v4, port: 20002 },
  };
  t.false(s.dp.kernelForwarding);
  await t.throwsAsync(s.dp.openRelay({ ...leg, expectedPeer: { ip: 'peer', port: 4000 } }), {
    code: 'TG_DP_BAD_ADDRESS',
  });
  await t.throwsAsync(s.dp.openRelay({ ...leg, localPort: 0 }), { code: 'TG_DP_BAD_PORT' });
  await t.throwsAsync(s.dp.openRelay({ ...leg, forwardTo: { ip: '2001:db8::20', port: 5000 } }), {
    code: 'TG_DP_BAD_RELAY',
    message: /not the same address family/,
  });
  t.is(await s.dp.relayCounters(20000), null);
  const unsubscribe = s.dp.onFlood(() => t.fail('nft mode has no flood events'));
  unsubscribe();
});
