// The web layer's address rules, seen from other hosts: a daemon in its own namespace with
// the kernel dataplane, curl from the other side of a veth as a LAN host (10.x) and as a
// public address (203.0.113.9). remoteadmin, apideftrustadmin, apiv2ipauth + allowedip and
// trustlanip decide; a login brute force gets the address banned in XDP.
import { join } from 'node:path';
import test, { type ExecutionContext } from 'ava';
import { type RunningDaemon, startDaemon, testConfig } from '../helpers/daemon.ts';
import { eventually } from '../helpers/guarded-link.ts';
import { createLink, exec, type Link } from '../helpers/netns.ts';
import { tempDir } from '../helpers/tmp.ts';

const PUBLIC = '203.0.113.9';
const PASSWORD = 'Net-Admin-4477-q';

interface Answer {
  status: number;
  body: string;
}

interface Setup {
  link: Link;
  d: RunningDaemon;
  url: string;
  ca: string;
  lan: string;
}

async function setup(
  t: ExecutionContext,
  extra: Record<string, string | number> = {},
): Promise<Setup> {
  const link = await createLink(t);
  await link.addAddress(link.a, PUBLIC);
  await exec(link.b.ns, ['ip', 'route', 'add', `${PUBLIC}/32`, 'dev', link.b.ifname]);
  const dataDir = tempDir(t);
  const configFile = await testConfig(dataDir, {
    sipaddress: link.b.v4,
    webaddress: link.b.v4,
    webport: 8443,
    dataplanemode: 'auto',
    ...extra,
  });
  const d = await startDaemon(t, { dataDir, configFile, netns: link.b.ns });
  t.teardown(() => d.stop());
  const added = await d.ctl('admins', 'add', 'ops', '--password', PASSWORD);
  t.is(added.code, 0, added.stderr);
  return {
    link,
    d,
    url: `https://${link.b.v4}:8443`,
    ca: join(dataDir, 'tls', 'ca.pem'),
    lan: link.a.v4,
  };
}

/** curl from side a, from `source`; status 0 = no answer (dropped). */
async function curl(
  s: Setup,
  source: string,
  path: string,
  options: {
    user?: string;
    password?: string;
    method?: string;
    body?: unknown;
    headers?: string[];
    /** Seconds before curl gives up (a dropped connection answers nothing). */
    maxTime?: number;
  } = {},
): Promise<Answer> {
  const maxTime = String(options.maxTime ?? 20);
  const argv = ['curl', '-s', '--max-time', maxTime, '--cacert', s.ca, '--interface', source];
  argv.push('-X', options.method ?? 'GET', '-o', '-', '-w', '\n%{http_code}');
  if (options.user) argv.push('-u', `${options.user}:${options.password ?? PASSWORD}`);
  for (const h of options.headers ?? []) argv.push('-H', h);
  if (options.body !== undefined)
    argv.push('-H', 'content-type: application/json', '--data', JSON.stringify(options.body));
  argv.push(`${s.url}${path}`);
  try {
    const { stdout } = await exec(s.link.a.ns, argv, { timeoutMs: 30_000 });
    const cut = stdout.lastIndexOf('\n');
    return { status: Number(stdout.slice(cut + 1)), body: stdout.slice(0, cut) };
  } catch {
    return { status: 0, body: '' };
  }
}

async function set(s: Setup, key: string, value: string): Promise<void> {
  const r = await s.d.ctl('config', 'set', key, value);
  if (r.code !== 0) throw new Error(`config set ${key} ${value}: ${r.stderr}`);
}

const admin = { user: 'ops' };

test('remoteadmin, apideftrustadmin, trustlanip and apiv2ipauth + allowedip decide by the source address', async (t) => {
  const s = await setup(t);
  const status = (from: string, o: { user?: string } = admin) => curl(s, from, '/api/v1/status', o);
  // remoteadmin 1 (default): administration from this machine only.
  const lanRefused = await status(s.lan);
  t.is(lanRefused.status, 403, lanRefused.body);
  t.regex(lanRefused.body, /remoteadmin/);
  t.is((await curl(s, s.lan, '/api/v1/health')).status, 200, 'health answers anyone');

  await set(s, 'remoteadmin', '3'); // + private (LAN) addresses
  t.is((await status(s.lan)).status, 200, 'a LAN admin with the password (trusted by trustlanip)');
  t.is((await status(PUBLIC)).status, 403, 'a public address is not LAN');
  await set(s, 'trustlanip', 'false');
  const untrusted = await status(s.lan);
  t.is(untrusted.status, 403, 'apideftrustadmin 1: no longer a trusted source');
  t.regex(untrusted.body, /apideftrustadmin 1/);
  await set(s, 'trustlanip', 'true');

  await set(s, 'remoteadmin', '4'); // anywhere
  t.is((await status(PUBLIC)).status, 403, 'apideftrustadmin 1: the public address is not trusted');
  await set(s, 'apideftrustadmin', '3'); // the admin password from anywhere
  const pw = await status(PUBLIC);
  if (pw.status !== 200) {
    t.log((await s.d.ctl('bans', '--json')).stdout);
    t.log((await s.d.ctl('stats', '--json')).stdout);
    t.log((await s.d.ctl('detections', '--json')).stdout);
  }
  t.is(pw.status, 200);
  await set(s, 'apideftrustadmin', '4'); // password and trustedip
  t.is((await status(PUBLIC)).status, 403);
  await set(s, 'trustedip', `${PUBLIC}/32`);
  t.is((await status(PUBLIC)).status, 200);
  await set(s, 'apideftrustadmin', '2'); // the address alone
  t.is((await status(PUBLIC, {})).status, 200, 'no credentials from a trustedip source');
  t.is((await status(s.lan, {})).status, 403, 'a LAN address is not in trustedip');
  await set(s, 'apideftrustadmin', '0');
  t.is((await status(PUBLIC)).status, 403, 'apideftrustadmin 0: no admin over the API at all');
  await set(s, 'apideftrustadmin', '3');

  // apiv2ipauth 1 + allowedip: only listed sources use the API.
  await set(s, 'allowedip', `${PUBLIC}/32`);
  const notAllowed = await status(s.lan);
  t.is(notAllowed.status, 403);
  t.regex(notAllowed.body, /allowedip/);
  t.is((await status(PUBLIC)).status, 200);
  await set(s, 'apiv2ipauth', '0');
  t.is((await status(s.lan)).status, 200, 'apiv2ipauth 0: allowedip is not applied');
  await set(s, 'apiv2ipauth', '3'); // trusted sources only (trustedip, LAN with trustlanip)
  t.is((await status(s.lan)).status, 200);
  await set(s, 'trustedip', '192.0.2.0/24');
  t.is((await status(PUBLIC)).status, 403);
  await set(s, 'trustlanip', 'false');
  t.is((await status(s.lan)).status, 403);
  // apiv2ipauth 2: a trusted source calls without the key (apidefneedlogin 0: the key alone).
  await set(s, 'apiv2ipauth', '2');
  await set(s, 'apidefneedlogin', '0');
  await set(s, 'apideftrustadmin', '1');
  await set(s, 'trustedip', `${s.lan}/32`);
  await set(s, 'httpapikey', 'the-Api-Key-2291x');
  t.is((await status(s.lan, {})).status, 200, 'trusted: no key needed');
  t.is((await status(PUBLIC, {})).status, 401, 'allowed but not trusted: the key is needed');
});

test('a login brute force gets the address banned in XDP, like a SIP password guesser', async (t) => {
  const s = await setup(t, { maxfailedauthenabledip: 5, remoteadmin: 4 });
  for (let i = 0; i < 5; i++) {
    const r = await curl(s, PUBLIC, '/api/v1/session', {
      method: 'POST',
      body: { username: 'ops', password: `guess-Number-${i}` },
    });
    t.is(r.status, 401, r.body);
  }
  t.true(
    await eventually(async () => {
      const bans = JSON.parse((await s.d.ctl('bans', '--json')).stdout) as Array<{ ip: string }>;
      return bans.some((b) => b.ip === PUBLIC);
    }),
    'the guesser is banned',
  );
  const bans = JSON.parse((await s.d.ctl('bans', '--json')).stdout) as Array<{
    ip: string;
    reason: string;
    evidence: { rule: string };
  }>;
  t.is(bans.find((b) => b.ip === PUBLIC)?.evidence.rule, 'maxfailedauthenabledip');
  const before = JSON.parse((await s.d.ctl('stats', '--json')).stdout).drops.banned as number;
  t.is((await curl(s, PUBLIC, '/api/v1/health', { maxTime: 3 })).status, 0, 'dropped: no answer');
  const after = JSON.parse((await s.d.ctl('stats', '--json')).stdout).drops.banned as number;
  t.true(after > before, `the kernel counted the drops (${before} → ${after})`);
  t.regex(JSON.parse((await s.d.ctl('status', '--json')).stdout).dataplane.mode, /^xdp/);
  // The LAN host is not affected, and reads the drops in /metrics (packets and bytes).
  t.is((await curl(s, s.lan, '/api/v1/health')).status, 200);
  const m = await curl(s, s.lan, '/metrics', admin);
  t.is(m.status, 200, m.body);
  const value = (series: string) =>
    Number(
      m.body
        .split('\n')
        .find((l) => l.startsWith(`${series} `))
        ?.split(' ')[1],
    );
  t.true(value('tollgate_dropped_packets_total{reason="banned"}') > 0, m.body.slice(0, 400));
  t.true(value('tollgate_dropped_bytes_total{reason="banned"}') > 0);
  t.is(value('tollgate_bans_added_total{origin="auto",rule="maxfailedauthenabledip"}'), 1);
  t.false(m.body.includes(PUBLIC), 'no address in the metrics');
});
