// The API's access keys on loopback: API keys (hashed at rest), apidefneedlogin with nonce
// verification, allowedip/apiv2ipauth, CSRF on every state-changing route, JSONP, uploads
// and input validation. (Keys that depend on the source being a LAN or public address are
// tested from network namespaces in access-netns.test.ts.)
import { randomBytes } from 'node:crypto';
import test from 'ava';
import { ADMIN, ADMIN_PASSWORD, basic, login, startTestWeb, type TestWeb } from './helpers.ts';

const KEY = 'k3y-Zq81-vV0s-91lLx-24aa-Qm0p';
const ADMIN_AUTH = { authorization: basic(ADMIN, ADMIN_PASSWORD) };
const PUBLIC = new Set(['/api/v1/health', '/api/v1/session', '/api/v1/portal/session']);

const nonce = () => `${Date.now()}-${randomBytes(12).toString('hex')}`;

/** Every API route the OpenAPI document lists, with a path that fills its parameters. */
async function routes(w: TestWeb): Promise<Array<{ method: string; path: string }>> {
  const doc = await w.call('GET', '/api/v1/openapi.json', { headers: ADMIN_AUTH });
  const out: Array<{ method: string; path: string }> = [];
  for (const [path, ops] of Object.entries(doc.json.paths as Record<string, object>)) {
    if (PUBLIC.has(path)) continue;
    for (const method of Object.keys(ops))
      out.push({ method: method.toUpperCase(), path: path.replace(/\{[^}]+\}/g, 'x') });
  }
  return out;
}

test('httpapikey and apiv2key: stored as hashes; apidefneedlogin 0 takes either key alone', async (t) => {
  const w = await startTestWeb(t, { apidefneedlogin: 0, webratelimit: 0 });
  t.is((await w.call('GET', '/api/v1/status', { headers: { 'x-api-key': KEY } })).status, 401);
  t.is(w.failures.length, 1, 'a key when none is set is a failure too');
  w.settings.set('httpapikey', KEY);
  w.settings.set('apiv2key', '90210');
  const stored = w.store.tables.config.get('httpapikey') as { value: string };
  t.regex(stored.value, /^\$scrypt\$/, 'the store keeps the hash, not the key');
  t.false(JSON.stringify(w.store.tables.config.get('apiv2key')).includes('90210'));
  t.is(w.settings.describe('httpapikey').value, '***');

  t.is((await w.call('GET', '/api/v1/status')).status, 401);
  const wrong = await w.call('GET', '/api/v1/status', { headers: { 'x-api-key': `${KEY}x` } });
  t.is(wrong.status, 401);
  t.is(wrong.json.code, 'TG_WEB_BAD_CREDENTIALS');
  t.deepEqual(w.failures.at(-1), { ip: '127.0.0.1', detail: 'wrong API key' });
  t.is((await w.call('GET', '/api/v1/status', { headers: { 'x-api-key': KEY } })).status, 200);
  t.is(
    (await w.call('GET', '/api/v1/status', { headers: { authorization: `Bearer ${KEY}` } })).status,
    200,
  );
  t.is((await w.call('GET', '/api/v1/status', { headers: { 'x-api-key': '90210' } })).status, 200);
  // Changing the key forgets the old one at once.
  w.settings.set('httpapikey', 'an0ther-Key-88-Qp');
  t.is((await w.call('GET', '/api/v1/status', { headers: { 'x-api-key': KEY } })).status, 401);
});

test('a key in the config file (in clear there) works as well', async (t) => {
  const w = await startTestWeb(t, { apidefneedlogin: 0, httpapikey: KEY });
  t.is((await w.call('GET', '/api/v1/status', { headers: { 'x-api-key': KEY } })).status, 200);
  t.is((await w.call('GET', '/api/v1/status', { headers: { 'x-api-key': 'nope' } })).status, 401);
});

test('apidefneedlogin: 1 key or login, 2 login (and the key once one is set), 3 a fresh nonce each time', async (t) => {
  const w = await startTestWeb(t, { apidefneedlogin: 1, httpapikey: KEY });
  const status = (headers: Record<string, string>) => w.call('GET', '/api/v1/status', { headers });
  t.is((await status({ 'x-api-key': KEY })).status, 200);
  t.is((await status(ADMIN_AUTH)).status, 200);
  w.settings.set('apidefneedlogin', 2);
  const keyOnly = await status({ 'x-api-key': KEY });
  t.is(keyOnly.status, 401);
  t.regex(keyOnly.json.message, /a login/);
  const loginOnly = await status(ADMIN_AUTH);
  t.is(loginOnly.status, 401);
  t.regex(loginOnly.json.message, /API key as well/);
  t.is((await status({ ...ADMIN_AUTH, 'x-api-key': KEY })).status, 200);
  w.settings.set('apidefneedlogin', 3);
  const both = { ...ADMIN_AUTH, 'x-api-key': KEY };
  const none = await status(both);
  t.is(none.status, 403);
  t.is(none.json.code, 'TG_WEB_NONCE');
  const n = nonce();
  t.is((await status({ ...both, 'x-tollgate-nonce': n })).status, 200);
  const replayed = await status({ ...both, 'x-tollgate-nonce': n });
  t.is(replayed.status, 403);
  t.regex(replayed.json.message, /already used/);
  const old = await status({
    ...both,
    'x-tollgate-nonce': `${Date.now() - 3_600_000}-${randomBytes(12).toString('hex')}`,
  });
  t.is(old.status, 403);
  t.regex(old.json.message, /window/);
  t.is((await status({ ...both, 'x-tollgate-nonce': nonce() })).status, 200);
});

test('every API route is refused without a key, with a wrong key, from a disallowed address and with a replayed nonce', async (t) => {
  const w = await startTestWeb(t, { apidefneedlogin: 0, httpapikey: KEY, webratelimit: 0 });
  const all = await routes(w);
  t.true(all.length >= 20, `found ${all.length} routes`);
  const wrongKey = { 'x-api-key': 'wrong-Key-0', 'x-tollgate-server-key': 'wrong-Key-0' };
  for (const { method, path } of all) {
    const r = await w.call(method, path);
    t.is(r.status, 401, `${method} ${path} without a key: ${r.text}`);
    const wrong = await w.call(method, path, { headers: wrongKey });
    t.is(wrong.status, 401, `${method} ${path} with a wrong key: ${wrong.text}`);
  }
  w.settings.set('allowedip', ['192.0.2.1/32']);
  for (const { method, path } of all) {
    const r = await w.call(method, path, { headers: { 'x-api-key': KEY, ...ADMIN_AUTH } });
    t.is(r.status, 403, `${method} ${path} from a disallowed address`);
    t.is(r.json.code, 'TG_WEB_SOURCE_REFUSED');
  }
  w.settings.set('allowedip', []);
  w.settings.set('apidefneedlogin', 3);
  const used = nonce();
  t.is(
    (
      await w.call('GET', '/api/v1/status', {
        headers: { ...ADMIN_AUTH, 'x-api-key': KEY, 'x-tollgate-nonce': used },
      })
    ).status,
    200,
  );
  for (const { method, path } of all) {
    const headers = { ...ADMIN_AUTH, 'x-api-key': KEY, 'x-tollgate-nonce': used };
    if (path.startsWith('/api/v1/portal/')) headers.authorization = basic('nobody', 'x');
    const r = await w.call(method, path, { headers });
    t.true(
      r.status === 403 || r.status === 401,
      `${method} ${path} with a replayed nonce: ${r.status}`,
    );
    if (r.status === 403) t.is(r.json.code, 'TG_WEB_NONCE', `${method} ${path}`);
  }
});

test('CSRF: every state-changing route refuses a session request without the token', async (t) => {
  const w = await startTestWeb(t, { webratelimit: 0 });
  const { cookie } = await login(w);
  const changing = (await routes(w)).filter((r) => r.method !== 'GET');
  t.true(changing.length >= 8, `found ${changing.length}`);
  for (const { method, path } of changing) {
    const r = await w.call(method, path, {
      headers: { cookie, 'x-csrf-token': 'forged' },
      body: {},
    });
    t.is(r.status, 403, `${method} ${path}: ${r.text}`);
    t.is(r.json.code, 'TG_WEB_CSRF', `${method} ${path}`);
  }
  t.is(w.ctx.bans.list().length, 0);
});

test('enablejsonp: 0 refuses a callback; 1 only for the own pages; 2 for any page', async (t) => {
  const w = await startTestWeb(t);
  const jsonp = (headers: Record<string, string> = {}) =>
    w.call('GET', '/api/v1/status?callback=show', { headers: { ...ADMIN_AUTH, ...headers } });
  const off = await jsonp();
  t.is(off.status, 403);
  t.is(off.json.code, 'TG_WEB_JSONP_DISABLED');
  w.settings.set('enablejsonp', 1);
  t.is((await jsonp({ 'sec-fetch-site': 'cross-site' })).status, 403);
  const own = await jsonp({ 'sec-fetch-site': 'same-origin' });
  t.is(own.status, 200);
  t.regex(String(own.headers['content-type']), /^application\/javascript/);
  t.regex(own.text, /^\/\*\*\/ typeof show === 'function' && show\(\{"version":"test"/);
  w.settings.set('enablejsonp', 2);
  t.is((await jsonp({ 'sec-fetch-site': 'cross-site' })).status, 200);
  const bad = await w.call('GET', '/api/v1/status?callback=alert(1)', { headers: ADMIN_AUTH });
  t.is(bad.status, 400);
  t.is(bad.json.field, 'query.callback');
});

test('allowhttpfileupload: a config file upload is refused before it is read, then accepted', async (t) => {
  const w = await startTestWeb(t);
  const upload = (raw: string) =>
    w.call('POST', '/api/v1/config/import', {
      headers: { ...ADMIN_AUTH, 'content-type': 'text/plain' },
      raw,
    });
  const refused = await upload('maxcallperip = 7\n');
  t.is(refused.status, 415);
  t.is(refused.json.code, 'TG_WEB_UPLOAD_DISABLED');
  t.not(w.settings.valueOf('maxcallperip'), 7);
  w.settings.set('allowhttpfileupload', true);
  const bad = await upload('maxcallperip = 7\nmaxcallperuser = lots\n');
  t.is(bad.status, 400, bad.text);
  t.is(bad.json.field, 'body.maxcallperuser');
  t.not(w.settings.valueOf('maxcallperip'), 7, 'nothing applied from a file with a bad line');
  const ok = await upload('maxcallperip = 7\n');
  t.is(ok.status, 200, ok.text);
  t.is(w.settings.valueOf('maxcallperip'), 7);
});

test('validateinput: markup and injection refused at 3, control characters at 1, quotes at 4, only plain text at 5', async (t) => {
  const w = await startTestWeb(t);
  const ban = (reason: string, ip = '198.51.100.20') =>
    w.call('POST', '/api/v1/bans', { headers: ADMIN_AUTH, body: { ip, reason, ttl: 60 } });
  const markup = await ban('<script>alert(1)</script>');
  t.is(markup.status, 400);
  t.is(markup.json.field, 'body.reason');
  t.regex(markup.json.message, /validateinput/);
  t.is((await ban("x' or 1=1")).status, 400);
  t.is((await ban('a; DROP TABLE bans')).status, 400);
  t.is((await ban('tab\there')).status, 400);
  t.is((await ban("it's a scanner")).status, 201);
  w.settings.set('validateinput', 1);
  t.is((await ban('<b>bold</b>', '198.51.100.21')).status, 201);
  t.is((await ban('tab\there', '198.51.100.22')).status, 400);
  w.settings.set('validateinput', 0);
  t.is((await ban('tab\there', '198.51.100.23')).status, 201);
  w.settings.set('validateinput', 4);
  t.is((await ban("it's a scanner", '198.51.100.24')).status, 400);
  w.settings.set('validateinput', 5);
  t.is((await ban('scanner (svwar)', '198.51.100.25')).status, 400);
  t.is((await ban('scanner svwar', '198.51.100.25')).status, 201);
  // Passwords are free text at every level (but no control characters).
  const pw = await w.call('POST', '/api/v1/session', {
    body: { username: ADMIN, password: ADMIN_PASSWORD, kind: 'admin' },
  });
  t.is(pw.status, 200);
});

test('a fixed key: the API shows why, and refuses any other value even with acceptUnenforced', async (t) => {
  const w = await startTestWeb(t);
  const got = await w.call('GET', '/api/v1/config/ftpdbuser', { headers: ADMIN_AUTH });
  t.is(got.status, 200, got.text);
  t.like(got.json, { key: 'ftpdbuser', value: 0, status: { state: 'fixed' } });
  t.regex(got.json.status.reason, /tollgate has no FTP database access/);
  const refused = await w.call('PUT', '/api/v1/config/ftpdbuser', {
    headers: ADMIN_AUTH,
    body: { value: 1, acceptUnenforced: true },
  });
  t.is(refused.status, 409, refused.text); // refused as things stand, like a key not enforced
  t.is(refused.json.code, 'TG_CONFIG_FIXED');
  t.regex(refused.json.message, /ftpdbuser = 1 is refused: tollgate has no FTP database access/);
  t.is(w.settings.valueOf('ftpdbuser'), 0);
});
