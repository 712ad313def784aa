import { existsSync, statSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import test from 'ava';
import { freePort, run, startDaemon, TOLLGATE, TOLLGATECTL, testConfig } from './helpers/daemon.ts';
import { tempDir } from './helpers/tmp.ts';

test('ban, list, delbanned,IP and delbanned,all through tollgatectl', async (t) => {
  const d = await startDaemon(t);

  const banned = await d.ctl('ban', '10.9.8.7', '--ttl', '600', '--reason', 'svcrack from test');
  t.is(banned.code, 0, banned.stderr);
  t.regex(banned.stdout, /banned 10\.9\.8\.7 until/);
  t.is((await d.ctl('ban', '2001:DB8::7')).code, 0);

  const list = await d.ctl('bans', '--json');
  t.is(list.code, 0);
  const bans = JSON.parse(list.stdout) as Array<{ ip: string; reason: string; expiresAt: number }>;
  t.deepEqual(bans.map((b) => b.ip).sort(), ['10.9.8.7', '2001:db8::7']);
  t.is(bans.find((b) => b.ip === '10.9.8.7')!.reason, 'svcrack from test');

  const lifted = await d.ctl('delbanned,10.9.8.7');
  t.is(lifted.code, 0, lifted.stderr);
  t.deepEqual(
    (JSON.parse((await d.ctl('bans', '--json')).stdout) as Array<{ ip: string }>).map((b) => b.ip),
    ['2001:db8::7'],
  );

  const again = await d.ctl('delbanned,10.9.8.7');
  t.is(again.code, 1, 'lifting a ban that is not there is refused');
  t.regex(again.stderr, /no ban for 10\.9\.8\.7/);

  await d.ctl('ban', '10.1.1.1');
  const all = await d.ctl('delbanned,all');
  t.is(all.code, 0);
  t.regex(all.stdout, /lifted 2 ban/);
  t.is((await d.ctl('bans')).stdout.trim(), 'no bans in force');

  t.is(await d.stop(), 0);
});

test('config set refuses bad values with the range named and keeps the old value', async (t) => {
  const d = await startDaemon(t);
  const bad = await d.ctl('config', 'set', 'allowtrustedip', '9');
  t.is(bad.code, 1);
  t.regex(bad.stderr, /allowtrustedip/);
  t.regex(bad.stderr, /0\.\.4|0-4|0 to 4/);
  t.regex((await d.ctl('config', 'get', 'allowtrustedip')).stdout, /allowtrustedip = 3/);

  const unknown = await d.ctl('config', 'set', 'maxcalperip', '3');
  t.is(unknown.code, 1);
  t.regex(unknown.stderr, /maxcallperip/);

  const good = await d.ctl('config', 'set', 'maxcallperip', '12', '--json');
  t.is(good.code, 0, good.stderr);
  t.is(JSON.parse(good.stdout).value, 12);
  t.is(await d.stop(), 0);
});

test('usage errors exit 2 without needing the daemon; a stopped daemon is exit 1', async (t) => {
  const dataDir = tempDir(t);
  const usage = await run(TOLLGATECTL, ['--data', dataDir, 'ban']);
  t.is(usage.code, 2);
  t.regex(usage.stderr, /ban: expected one address/);

  const down = await run(TOLLGATECTL, ['--data', dataDir, 'status']);
  t.is(down.code, 1);
  t.regex(down.stderr, /tollgate is not running/);
});

test('bans and live config survive a restart; the console socket is private', async (t) => {
  const first = await startDaemon(t);
  const socket = join(first.dataDir, 'tollgate.sock');
  t.is(statSync(socket).mode & 0o777, 0o600);
  await first.ctl('ban', '10.20.30.40', '--reason', 'kept');
  await first.ctl('config', 'set', 'minpwdlength', '12');
  t.is(await first.stop(), 0);
  t.false(existsSync(socket), 'the socket is removed on a clean stop');

  const second = await startDaemon(t, { dataDir: first.dataDir, configFile: first.configFile });
  const bans = JSON.parse((await second.ctl('bans', '--json')).stdout) as Array<{ ip: string }>;
  t.deepEqual(
    bans.map((b) => b.ip),
    ['10.20.30.40'],
  );
  t.regex((await second.ctl('config', 'get', 'minpwdlength')).stdout, /= 12/);
  const status = JSON.parse((await second.ctl('status', '--json')).stdout);
  t.is(status.dataplane.mode, 'off');
  t.false(status.dataplane.enforcing);
  t.is(status.bans, 1);
  t.is(await second.stop(), 0);
});

test('the interactive shell runs the same commands', async (t) => {
  const d = await startDaemon(t);
  const session = await run(
    TOLLGATECTL,
    ['--data', d.dataDir, 'shell'],
    'ban 10.5.5.5 --reason "from the shell"\nbans\nfrobnicate\ndelbanned,all\nexit\n',
  );
  t.is(session.code, 2, 'a script with a failed command (a usage error here) exits non-zero');
  t.regex(session.stdout, /banned 10\.5\.5\.5/);
  t.regex(session.stdout, /10\.5\.5\.5 +manual .* from the shell/);
  t.regex(session.stdout, /error: unknown command "frobnicate"/);
  t.regex(session.stdout, /lifted 1 ban/);
  t.is(await d.stop(), 0);
});

test('refuses to start, with a clear message, when a port is taken or the config is bad', async (t) => {
  const dataDir = tempDir(t);
  const sip = await freePort();
  const holder = createServer();
  await new Promise<void>((r) => holder.listen(sip, '127.0.0.1', r));
  t.teardown(() => holder.close());
  const taken = await testConfig(dataDir, { sipport: sip });
  const busy = await run(TOLLGATE, ['serve', '--data', dataDir, '--config', taken]);
  t.is(busy.code, 1);
  t.regex(busy.stderr, new RegExp(`${sip}.*sipport`));

  const invalid = await testConfig(dataDir, { autoban: 'maybe' });
  const bad = await run(TOLLGATE, ['serve', '--data', dataDir, '--config', invalid]);
  t.is(bad.code, 1);
  t.regex(bad.stderr, /cannot start: invalid configuration/);
  t.regex(bad.stderr, /line \d+: bad value "maybe" for autoban: accepted 0\.\.2/);
});

test('a second daemon on the same data directory is refused', async (t) => {
  const d = await startDaemon(t);
  const second = await run(TOLLGATE, [
    'serve',
    '--data',
    d.dataDir,
    '--config',
    await testConfig(tempDir(t)),
  ]);
  t.is(second.code, 1);
  t.regex(second.stderr, /already running/);
  t.is((await d.ctl('status')).code, 0, 'the first one is unharmed');
  t.is(await d.stop(), 0);
});
