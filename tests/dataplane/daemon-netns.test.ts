// The daemon as an operator runs it, inside its own network namespace: dataplane mode
// auto-detected, `tollgatectl ban` reaching the XDP maps, real packets dropped, bans restored
// after a crash without duplicate programs or tables.
import { spawnSync } from 'node:child_process';
import test from 'ava';
import { startDaemon, TOLLGATE, testConfig } from '../helpers/daemon.ts';
import { createLink, exec } from '../helpers/netns.ts';
import { sendUdp, udpListener } from '../helpers/packets.ts';
import { tempDir } from '../helpers/tmp.ts';

const LISTEN_PORT = 7070;

async function stats(d: { ctl(...a: string[]): Promise<{ stdout: string }> }) {
  return JSON.parse((await d.ctl('stats', '--json')).stdout) as {
    drops: Record<string, number>;
    dataplane: { mode: string; interfaces: string[] };
  };
}

async function delivered(link: Awaited<ReturnType<typeof createLink>>, marker: string, count = 20) {
  const listener = await udpListener(link.b.ns, { host: '0.0.0.0', port: LISTEN_PORT });
  try {
    await sendUdp(link.a.ns, { to: link.b.v4, port: LISTEN_PORT, count, payload: marker });
    // Unbanned traffic arrives quickly; give banned traffic the same chance to show up.
    await listener.waitFor((d) => d.text.startsWith(marker), 1500).catch(() => undefined);
    return listener.received.filter((d) => d.text.startsWith(marker)).length;
  } finally {
    await listener.close();
  }
}

test('tollgatectl ban reaches XDP in the daemon; unban, restart and crash recovery', async (t) => {
  const link = await createLink(t);
  const dataDir = tempDir(t);
  const configFile = await testConfig(dataDir, { sipaddress: link.b.v4, dataplanemode: 'auto' });
  const d = await startDaemon(t, { dataDir, configFile, netns: link.b.ns });

  const status = JSON.parse((await d.ctl('status', '--json')).stdout);
  t.regex(status.dataplane.mode, /^xdp/, status.dataplane.reason);
  t.true(status.dataplane.enforcing);
  t.deepEqual((await stats(d)).dataplane.interfaces, [link.b.ifname]);

  t.true((await delivered(link, 'before')) > 0, 'traffic passes before the ban');
  t.is((await d.ctl('ban', link.a.v4, '--reason', 'test')).code, 0);
  const before = (await stats(d)).drops.banned ?? 0;
  t.is(await delivered(link, 'banned', 25), 0, 'nothing reaches the listening socket');
  t.true((await stats(d)).drops.banned - before >= 25, 'the banned counter moved');

  // A crash (kill -9) leaves the program attached and the table in place; the next start
  // replaces them and restores the ban from the store.
  d.process.kill('SIGKILL');
  await new Promise((r) => d.process.once('exit', r));
  const again = await startDaemon(t, { dataDir, configFile, netns: link.b.ns });
  t.is(await delivered(link, 'restored'), 0, 'the ban is back in the kernel after the restart');
  const tables = (await exec(link.b.ns, ['/usr/sbin/nft', 'list', 'tables'])).stdout;
  t.is(tables.match(/^table inet tollgate$/gm)?.length, 1, `one inet tollgate table: ${tables}`);
  t.is(
    tables.match(/^table netdev tollgate$/gm)?.length,
    1,
    `one netdev tollgate table: ${tables}`,
  );
  const xdp = (await exec(link.b.ns, ['ip', '-d', 'link', 'show', link.b.ifname])).stdout;
  t.is(xdp.match(/prog\/xdp id/g)?.length, 1, 'one XDP program attached');

  // A second daemon on the same data directory is refused before it touches the kernel.
  const otherConfig = await testConfig(tempDir(t), {
    sipaddress: link.b.v4,
    dataplanemode: 'auto',
  });
  const second = spawnSync(
    'ip',
    [
      'netns',
      'exec',
      link.b.ns,
      process.execPath,
      TOLLGATE,
      'serve',
      '--data',
      dataDir,
      '--config',
      otherConfig,
    ],
    { encoding: 'utf8', timeout: 30_000 },
  );
  t.is(second.status, 1);
  t.regex(second.stderr, /already running/);
  const unchanged = (await exec(link.b.ns, ['ip', '-d', 'link', 'show', link.b.ifname])).stdout;
  t.is(
    /prog\/xdp id (\d+)/.exec(unchanged)?.[1],
    /prog\/xdp id (\d+)/.exec(xdp)?.[1],
    'same program',
  );
  t.is(await delivered(link, 'still-banned'), 0, 'the running daemon still enforces its bans');

  t.is((await again.ctl(`delbanned,${link.a.v4}`)).code, 0);
  t.true((await delivered(link, 'after')) > 0, 'unban lets it through again');
  t.is(await again.stop(), 0);
  const after = (await exec(link.b.ns, ['ip', '-d', 'link', 'show', link.b.ifname])).stdout;
  t.false(/prog\/xdp/.test(after), 'a clean stop detaches the program');
});

test('mode nft: the daemon drops a banned source with nftables alone', async (t) => {
  const link = await createLink(t);
  const dataDir = tempDir(t);
  const configFile = await testConfig(dataDir, { sipaddress: link.b.v4, dataplanemode: 'nft' });
  const d = await startDaemon(t, { dataDir, configFile, netns: link.b.ns });
  t.is(JSON.parse((await d.ctl('status', '--json')).stdout).dataplane.mode, 'nft');
  await d.ctl('ban', link.a.v4);
  t.is(await delivered(link, 'nft-banned'), 0);
  t.true((await stats(d)).drops.banned >= 20);
  await d.ctl('unban', 'all');
  t.true((await delivered(link, 'nft-after')) > 0);
  t.is(await d.stop(), 0);
});

test('static firewall: deny drops in the kernel, allow beats a ban, rules survive a restart', async (t) => {
  const link = await createLink(t);
  const dataDir = tempDir(t);
  const configFile = await testConfig(dataDir, { sipaddress: link.b.v4, dataplanemode: 'auto' });
  const d = await startDaemon(t, { dataDir, configFile, netns: link.b.ns });
  const subnet = link.subnetV4;

  t.is((await d.ctl('firewall', 'deny', subnet)).code, 0);
  const before = (await stats(d)).drops.cidr_deny ?? 0;
  t.is(await delivered(link, 'denied'), 0, 'the denied subnet is dropped');
  t.true((await stats(d)).drops.cidr_deny - before >= 20, 'counted as cidr_deny');

  t.is((await d.ctl('firewall', 'del', subnet)).code, 0);
  t.true((await delivered(link, 'undenied')) > 0);
  const missing = await d.ctl('firewall', 'del', subnet);
  t.is(missing.code, 1);
  t.regex(missing.stderr, /no static firewall rule/);

  await d.ctl('ban', link.a.v4);
  t.is(await delivered(link, 'banned'), 0);
  t.is((await d.ctl('firewall', 'allow', `${link.a.v4}/32`)).code, 0);
  t.true((await delivered(link, 'allowed')) > 0, 'allow beats the ban');
  t.is(await d.stop(), 0);

  const again = await startDaemon(t, { dataDir, configFile, netns: link.b.ns });
  const rules = JSON.parse((await again.ctl('firewall', 'list', '--json')).stdout);
  t.deepEqual(rules.allow, [`${link.a.v4}/32`]);
  t.true(
    (await delivered(link, 'allowed-after-restart')) > 0,
    'the allow rule is back in the kernel',
  );
  t.is(await again.stop(), 0);
});
