// What the appliance's first boot writes into the daemon's config file (the image's
// /usr/lib/tollgate-appliance/appliance-config) and the web admin it makes
// (firstboot-admin), checked against the real daemon from this checkout: the web UI is
// reachable and administrable, the API key shown once opens the API while the file holds
// only its scrypt hash, and the admin password logs in to the web UI.
import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync, statSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import test from 'ava';
import { run, startDaemon, TOLLGATECTL, testConfig } from '../helpers/daemon.ts';
import { tempDir } from '../helpers/tmp.ts';

const ROOT = join(import.meta.dirname, '../..');
const SCRIPT = join(
  ROOT,
  'image/config/includes.chroot/usr/lib/tollgate-appliance/appliance-config',
);

function applianceConfig(conf: string): string {
  return execFileSync(SCRIPT, [conf], {
    encoding: 'utf8',
    env: { ...process.env, TOLLGATE_LIB: ROOT },
  }).trim();
}

function https(
  port: number,
  method: string,
  path: string,
  ca: Buffer,
  headers: Record<string, string> = {},
  body?: string,
) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request(
      { host: '127.0.0.1', port, path, method, agent: new Agent({ ca }), headers },
      (res) => {
        let text = '';
        res.on('data', (c) => (text += c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

test('appliance-config: a random httpapikey stored as its hash, the web UI on the LAN, and the first admin logs in', async (t) => {
  const dataDir = tempDir(t);
  const conf = await testConfig(dataDir);
  const port = Number(/^webport = (\d+)$/m.exec(readFileSync(conf, 'utf8'))![1]);

  // Run twice: the second run replaces the first's settings and key (first boot of a live
  // system runs at every boot), it does not add a second, conflicting line.
  const first = applianceConfig(conf);
  const key = applianceConfig(conf);
  t.regex(key, /^[0-9a-f]{48}$/);
  t.not(key, first);
  const text = readFileSync(conf, 'utf8');
  t.false(text.includes(key), 'the key is not in the file');
  t.is(text.match(/^httpapikey = \$scrypt\$N=16384,r=8,p=1\$\S+$/gm)?.length, 1, text);
  t.is(text.match(/^webaddress = 0\.0\.0\.0$/gm)?.length, 1, text);
  t.is(text.match(/^remoteadmin = 3$/gm)?.length, 1, text);
  t.is(statSync(conf).mode & 0o777, 0o600);

  const d = await startDaemon(t, { dataDir, configFile: conf });
  t.teardown(() => d.stop());
  const ca = readFileSync(join(dataDir, 'tls', 'ca.pem'));

  // firstboot-admin: the admin password through --password-stdin, never on argv.
  const password = 'kq7vd-3mzpa-Xw8nc-2hrt6';
  const added = await run(
    TOLLGATECTL,
    ['--data', dataDir, 'admins', 'add', 'admin', '--password-stdin'],
    `${password}\n`,
  );
  t.is(added.code, 0, added.stderr);
  const login = await https(
    port,
    'POST',
    '/api/v1/session',
    ca,
    { 'content-type': 'application/json' },
    JSON.stringify({ username: 'admin', password }),
  );
  t.is(login.status, 200, login.text);
  t.is(JSON.parse(login.text).kind, 'admin');

  // An API client: the admin login and (apidefneedlogin 2, the default) the key shown once;
  // the first run's key, or none, is refused.
  const basic = { authorization: `Basic ${Buffer.from(`admin:${password}`).toString('base64')}` };
  const ok = await https(port, 'GET', '/api/v1/status', ca, { ...basic, 'x-api-key': key });
  t.is(ok.status, 200, ok.text);
  const none = await https(port, 'GET', '/api/v1/status', ca, basic);
  t.is(none.status, 401, none.text);
  t.regex(none.text, /API key/);
  const stale = await https(port, 'GET', '/api/v1/status', ca, { ...basic, 'x-api-key': first });
  t.is(stale.status, 401, stale.text);
  // The audit tells a key in clear from a hash: nothing to report.
  const audit = await d.ctl('audit', '--json');
  t.false(audit.stdout.includes('api-keys:httpapikey'), audit.stdout);

  const wrong = await https(
    port,
    'POST',
    '/api/v1/session',
    ca,
    { 'content-type': 'application/json' },
    JSON.stringify({ username: 'admin', password: `${password}x` }),
  );
  t.is(wrong.status, 401, wrong.text);
});

test('appliance-config refuses to run without exactly one config file, changing nothing', (t) => {
  const r = spawnSync(SCRIPT, [], { encoding: 'utf8' });
  t.is(r.status, 2);
  t.regex(r.stderr, /usage: appliance-config CONF/);
});
