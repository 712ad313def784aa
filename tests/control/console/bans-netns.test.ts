// Bans as an operator gives them, through the real tollgatectl against a daemon running in
// its own network namespace with the kernel dataplane: a CIDR range with a duration is
// dropped in the kernel (XDP, and nftables alone), listed with its expiry, lifted by
// `unban ALL`; the host's own addresses are refused unless --force.
import test from 'ava';
import { type RunningDaemon, startDaemon, testConfig } from '../../helpers/daemon.ts';
import { createLink, exec, type Link, type LinkEnd } from '../../helpers/netns.ts';
import { sendUdp, udpListener } from '../../helpers/packets.ts';
import { tempDir } from '../../helpers/tmp.ts';

const PORT = 7071;
const RANGE = '203.0.113.0/24';
const SOURCE = '203.0.113.9';
const RANGE_V6 = '2001:db8:77::/48';
const SOURCE_V6 = '2001:db8:77::9';

interface Stats {
  drops: Record<string, number>;
}

async function stats(d: RunningDaemon): Promise<Stats> {
  return JSON.parse((await d.ctl('stats', '--json')).stdout) as Stats;
}

/** Waits (bounded) until the kernel counted `count` more drops of `reason` than `before`. */
async function waitForDrops(d: RunningDaemon, reason: string, before: number, count: number) {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const now = (await stats(d)).drops[reason] ?? 0;
    if (now - before >= count) return now - before;
    if (Date.now() > deadline) return now - before;
  }
}

/** Datagrams from `from` that reach a socket on b; `expectDrop` waits on the drop counter. */
async function reaching(
  link: Link,
  d: RunningDaemon,
  from: string,
  marker: string,
  expectDrop = false,
): Promise<number> {
  const v6 = from.includes(':');
  const listener = await udpListener(link.b.ns, { host: v6 ? '::' : '0.0.0.0', port: PORT });
  try {
    const before = (await stats(d)).drops.cidr_deny ?? 0;
    await sendUdp(link.a.ns, {
      from,
      to: v6 ? link.b.v6 : link.b.v4,
      port: PORT,
      count: 20,
      payload: marker,
    });
    if (expectDrop) await waitForDrops(d, 'cidr_deny', before, 20);
    else await listener.waitFor((x) => x.text.startsWith(marker)).catch(() => undefined);
    return listener.received.filter((x) => x.text.startsWith(marker)).length;
  } finally {
    await listener.close();
  }
}

/** An extra source on side a, with b routing replies to it over the same veth. */
async function addSource(link: Link, end: LinkEnd, address: string, net: string) {
  await link.addAddress(end, address);
  await exec(link.b.ns, ['ip', 'route', 'add', net, 'dev', link.b.ifname]);
}

async function daemonIn(t: import('ava').ExecutionContext, link: Link, mode: string) {
  const dataDir = tempDir(t);
  const configFile = await testConfig(dataDir, { sipaddress: link.b.v4, dataplanemode: mode });
  return startDaemon(t, { dataDir, configFile, netns: link.b.ns });
}

test('ban 203.0.113.0/24 --ttl 1h drops 203.0.113.9 in XDP; bans --json shows it; unban ALL lifts it', async (t) => {
  const link = await createLink(t);
  await addSource(link, link.a, SOURCE, RANGE);
  const d = await daemonIn(t, link, 'auto');
  t.regex(JSON.parse((await d.ctl('status', '--json')).stdout).dataplane.mode, /^xdp/);
  t.notRegex(d.stderr(), /libbpf/, "libbpf's messages go to the log, not raw to stderr");

  t.true((await reaching(link, d, SOURCE, 'before')) > 0, 'the source reaches b before the ban');

  const banned = await d.ctl('ban', RANGE, '--ttl', '1h', '--reason', 'scanner range');
  t.is(banned.code, 0, banned.stderr);
  t.regex(banned.stdout, /^banned 203\.0\.113\.0\/24 until \d{4}-/);
  const list = JSON.parse((await d.ctl('bans', '--json')).stdout) as Array<{
    ip: string;
    scope: string;
    enforced: boolean;
    expiresAt: number;
    reason: string;
  }>;
  const range = list.find((b) => b.ip === RANGE);
  t.truthy(range, JSON.stringify(list));
  t.like(range, { scope: 'range', enforced: true, reason: 'scanner range' });
  const hourAhead = Date.now() + 3600_000;
  t.true(Math.abs(range!.expiresAt - hourAhead) < 5 * 60_000, `expiry about an hour ahead`);
  t.regex((await d.ctl('bans')).stdout, /203\.0\.113\.0\/24 +manual .* scanner range/);

  t.is(await reaching(link, d, SOURCE, 'banned', true), 0, 'dropped in the kernel');
  t.true((await reaching(link, d, link.a.v4, 'outside')) > 0, 'an address outside still passes');
  // One address inside the range has no ban of its own: the error says which range holds it.
  const inside = await d.ctl('unban', SOURCE);
  t.is(inside.code, 1);
  t.regex(inside.stderr, /inside the banned range 203\.0\.113\.0\/24/);

  // The host's own address, or a range covering it, is refused unless --force.
  const own = await d.ctl('ban', link.b.v4);
  t.is(own.code, 1);
  t.regex(
    own.stderr,
    new RegExp(
      `refusing to ban ${link.b.v4.replaceAll('.', '\\.')}: .*an address of this machine.*--force`,
    ),
  );
  const ownNet = await d.ctl('ban', link.subnetV4);
  t.is(ownNet.code, 1);
  t.regex(ownNet.stderr, /an address of this machine/);
  t.false(
    (JSON.parse((await d.ctl('bans', '--json')).stdout) as Array<{ ip: string }>).some(
      (b) => b.ip === link.b.v4 || b.ip === link.subnetV4,
    ),
    'nothing was stored for a refused ban',
  );

  const lifted = await d.ctl('unban', 'ALL');
  t.is(lifted.code, 0, lifted.stderr);
  t.regex(lifted.stdout, /lifted 1 ban/);
  t.true((await reaching(link, d, SOURCE, 'after')) > 0, 'unban ALL lets the range through');
  t.is(await d.stop(), 0);
});

test('mode nft: an IPv6 range ban drops with nftables alone; a restart puts it back', async (t) => {
  const link = await createLink(t);
  await addSource(link, link.a, SOURCE_V6, RANGE_V6);
  const dataDir = tempDir(t);
  const configFile = await testConfig(dataDir, { sipaddress: link.b.v4, dataplanemode: 'nft' });
  const d = await startDaemon(t, { dataDir, configFile, netns: link.b.ns });
  t.is(JSON.parse((await d.ctl('status', '--json')).stdout).dataplane.mode, 'nft');

  t.true((await reaching(link, d, SOURCE_V6, 'v6-before')) > 0);
  t.is((await d.ctl('ban', '2001:DB8:77:0::1/48', '--ttl', '7d')).code, 0);
  const listed = JSON.parse((await d.ctl('bans', '--json')).stdout) as Array<{ ip: string }>;
  t.deepEqual(
    listed.map((b) => b.ip),
    [RANGE_V6],
    'stored in its canonical form',
  );
  t.is(await reaching(link, d, SOURCE_V6, 'v6-banned', true), 0);
  t.is(await d.stop(), 0);

  const again = await startDaemon(t, { dataDir, configFile, netns: link.b.ns });
  t.is(await reaching(link, again, SOURCE_V6, 'v6-restored', true), 0, 'restored at start');
  t.is((await again.ctl(`delbanned,${RANGE_V6}`)).code, 0);
  t.true((await reaching(link, again, SOURCE_V6, 'v6-after')) > 0);
  t.is(await again.stop(), 0);
});
