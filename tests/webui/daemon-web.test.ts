// The daemon serves the web UI and API over HTTPS on webaddress:webport, and administrators
// are made from the console.

import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import test from 'ava';
import { freePort, startDaemon, testConfig } from '../helpers/daemon.ts';
import { eventually } from '../helpers/guarded-link.ts';
import { tempDir } from '../helpers/tmp.ts';

function get(
  host: string,
  port: number,
  path: string,
  ca: Buffer,
  headers: Record<string, string> = {},
) {
  return new Promise<{ status: number; text: string }>((resolve, reject) => {
    const req = request({ host, port, path, agent: new Agent({ ca }), headers }, (res) => {
      let text = '';
      res.on('data', (c) => (text += c));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end();
  });
}

test('webaddress and webport: the daemon serves HTTPS there with its own CA, and nowhere else', async (t) => {
  const dataDir = tempDir(t);
  const webport = await freePort();
  const configFile = await testConfig(dataDir, { webaddress: '127.0.0.2', webport });
  const d = await startDaemon(t, { dataDir, configFile });
  t.teardown(() => d.stop());
  const ca = readFileSync(join(dataDir, 'tls', 'ca.pem'));
  const url = `"url":"https://127.0.0.2:${webport}"`;
  t.true(await eventually(async () => d.log().includes(url)), 'the log says where the web UI is');
  const health = await get('127.0.0.2', webport, '/api/v1/health', ca);
  t.is(health.status, 200);
  t.deepEqual(JSON.parse(health.text), { status: 'ok' });
  const elsewhere = await t.throwsAsync(get('127.0.0.1', webport, '/api/v1/health', ca));
  t.regex(String(elsewhere?.message), /ECONNREFUSED/);

  // An administrator made from the console logs in over the API.
  const added = await d.ctl('admins', 'add', 'ops', '--json');
  t.is(added.code, 0, added.stderr);
  const password = JSON.parse(added.stdout).generatedPassword as string;
  t.regex(password, /^.{20}$/);
  const auth = `Basic ${Buffer.from(`ops:${password}`).toString('base64')}`;
  // remoteadmin 1 (default): 127.0.0.2 is loopback, so administration is accepted.
  const status = await get('127.0.0.2', webport, '/api/v1/status', ca, { authorization: auth });
  t.is(status.status, 200, status.text);
  t.is(JSON.parse(status.text).pid, d.process.pid);
  const list = await d.ctl('admins', 'list', '--json');
  t.deepEqual(
    JSON.parse(list.stdout).map((a: { name: string }) => a.name),
    ['ops'],
  );
});
