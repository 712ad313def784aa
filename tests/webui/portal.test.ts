import test from 'ava';
import { basic, login, startTestWeb } from './helpers.ts';

test('a SIP account logs in to the portal, sees itself, and changes its password under the strong rules', async (t) => {
  const w = await startTestWeb(t);
  w.ctx.users.add('alice', 'Wonder-land-42');
  const wrong = await w.call('POST', '/api/v1/portal/session', {
    body: { username: 'alice', password: 'nope-Nope-1' },
  });
  t.is(wrong.status, 401);
  t.deepEqual(w.failures.at(-1), { ip: '127.0.0.1', detail: 'wrong portal password' });

  const answer = await w.call('POST', '/api/v1/portal/session', {
    body: { username: 'alice', password: 'Wonder-land-42' },
  });
  t.is(answer.status, 200, answer.text);
  t.is(answer.json.kind, 'user');
  const cookie = String(answer.headers['set-cookie']).split(';')[0]!;
  const csrf = answer.json.csrfToken as string;
  const me = await w.call('GET', '/api/v1/portal/me', { headers: { cookie } });
  t.is(me.status, 200, me.text);
  t.is(me.json.name, 'alice');
  // A portal session is not an admin session.
  t.is((await w.call('GET', '/api/v1/bans', { headers: { cookie } })).status, 403);

  const weak = await w.call('POST', '/api/v1/portal/password', {
    headers: { cookie, 'x-csrf-token': csrf },
    body: { current: 'Wonder-land-42', password: 'alice123' },
  });
  t.is(weak.status, 400, weak.text);
  t.is(weak.json.field, 'body.password');
  const changed = await w.call('POST', '/api/v1/portal/password', {
    headers: { cookie, 'x-csrf-token': csrf },
    body: { current: 'Wonder-land-42', password: 'Through-the-Glass-7' },
  });
  t.is(changed.status, 200, changed.text);
  t.true(w.ctx.users.verifyPassword('alice', 'Through-the-Glass-7'));
  // The user API with the SIP credentials (apisipauth on by default).
  const viaBasic = await w.call('GET', '/api/v1/portal/me', {
    headers: { authorization: basic('alice', 'Through-the-Glass-7') },
  });
  t.is(viaBasic.status, 200, viaBasic.text);
  const admin = await login(w);
  t.is(admin.answer.status, 200);
});

test('serverapikey and apisipauth: softphones send the server key; the account password too unless apisipauth is off', async (t) => {
  const w = await startTestWeb(t, { apisipauth: false });
  w.ctx.users.add('bob', 'Build-it-77x');
  const SERVER_KEY = 'srv-Key-5531-zzQ';
  w.settings.set('serverapikey', SERVER_KEY);
  const me = (headers: Record<string, string>) => w.call('GET', '/api/v1/portal/me', { headers });
  const named = { 'x-tollgate-server-key': SERVER_KEY, 'x-tollgate-user': 'bob' };
  const off = await me(named);
  t.is(off.status, 200, off.text);
  t.is(off.json.name, 'bob');
  const wrong = await me({ ...named, 'x-tollgate-server-key': 'guess' });
  t.is(wrong.status, 401);
  t.deepEqual(w.failures.at(-1), { ip: '127.0.0.1', detail: 'wrong serverapikey' });
  // The SIP credentials alone are not enough while a server key is set.
  t.is((await me({ authorization: basic('bob', 'Build-it-77x') })).status, 401);
  w.settings.set('apisipauth', true);
  const needsPassword = await me(named);
  t.is(needsPassword.status, 401);
  t.regex(needsPassword.json.message, /SIP credentials/);
  const full = await me({ ...named, authorization: basic('bob', 'Build-it-77x') });
  t.is(full.status, 200, full.text);
  const badPassword = await me({ ...named, authorization: basic('bob', 'Build-it-77y') });
  t.is(badPassword.status, 401);
  t.deepEqual(w.failures.at(-1), { ip: '127.0.0.1', detail: 'wrong user password' });
});
