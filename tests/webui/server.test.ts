import test from 'ava';
import { ADMIN, ADMIN_PASSWORD, basic, login, startTestWeb } from './helpers.ts';

test('health answers over HTTPS without authentication; the rest of /api/v1 does not', async (t) => {
  const w = await startTestWeb(t);
  const health = await w.call('GET', '/api/v1/health');
  t.is(health.status, 200);
  t.deepEqual(health.json, { status: 'ok' });
  t.regex(String(health.headers['content-security-policy']), /default-src 'self'/);
  t.is(health.headers['strict-transport-security'], 'max-age=31536000; includeSubDomains');
  const bans = await w.call('GET', '/api/v1/bans');
  t.is(bans.status, 401);
  t.is(bans.json.code, 'TG_WEB_UNAUTHENTICATED');
});

test('an admin logs in: the session cookie is Secure, HttpOnly, SameSite=Strict and works', async (t) => {
  const w = await startTestWeb(t);
  const { cookie, csrf, answer } = await login(w);
  t.is(answer.status, 200, answer.text);
  t.is(answer.json.kind, 'admin');
  const set = String(answer.headers['set-cookie']);
  t.regex(set, /tg_session=/);
  t.regex(set, /; Secure/i);
  t.regex(set, /; HttpOnly/i);
  t.regex(set, /; SameSite=Strict/i);
  const bans = await w.call('GET', '/api/v1/bans', { headers: { cookie } });
  t.is(bans.status, 200, bans.text);
  t.deepEqual(bans.json, { total: 0, offset: 0, limit: 100, items: [] });
  // A state change with the session needs the CSRF token.
  const refused = await w.call('POST', '/api/v1/bans', {
    headers: { cookie },
    body: { ip: '198.51.100.7' },
  });
  t.is(refused.status, 403);
  t.is(refused.json.code, 'TG_WEB_CSRF');
  t.is(w.ctx.bans.list().length, 0, 'nothing banned without the token');
  const added = await w.call('POST', '/api/v1/bans', {
    headers: { cookie, 'x-csrf-token': csrf },
    body: { ip: '198.51.100.7', ttl: 600, reason: 'seen scanning' },
  });
  t.is(added.status, 201, added.text);
  t.is(added.json.ip, '198.51.100.7');
  t.is(w.ctx.bans.list().length, 1);
});

test('a wrong password is refused with 401 and reported to the guard', async (t) => {
  const w = await startTestWeb(t);
  const { answer } = await login(w, ADMIN, 'not-the-password-1');
  t.is(answer.status, 401);
  t.is(answer.json.code, 'TG_WEB_BAD_CREDENTIALS');
  t.deepEqual(w.failures, [{ ip: '127.0.0.1', detail: 'wrong admin password' }]);
  const viaBasic = await w.call('GET', '/api/v1/status', {
    headers: { authorization: basic(ADMIN, 'wrong-Password-2') },
  });
  t.is(viaBasic.status, 401);
  t.is(w.failures.length, 2);
  const ok = await w.call('GET', '/api/v1/status', {
    headers: { authorization: basic(ADMIN, ADMIN_PASSWORD) },
  });
  t.is(ok.status, 200, ok.text);
});

test('bad input is a 400 naming the field', async (t) => {
  const w = await startTestWeb(t);
  const auth = { authorization: basic(ADMIN, ADMIN_PASSWORD) };
  const ttl = await w.call('POST', '/api/v1/bans', {
    headers: auth,
    body: { ip: '198.51.100.1', ttl: -5 },
  });
  t.is(ttl.status, 400);
  t.is(ttl.json.field, 'body.ttl');
  const missing = await w.call('POST', '/api/v1/bans', { headers: auth, body: {} });
  t.is(missing.status, 400);
  t.is(missing.json.field, 'body.ip');
  const address = await w.call('POST', '/api/v1/bans', {
    headers: auth,
    body: { ip: 'not-an-ip' },
  });
  t.is(address.status, 400, address.text);
  t.is(address.json.field, 'body.ip');
  const limit = await w.call('GET', '/api/v1/bans?limit=5000', { headers: auth });
  t.is(limit.status, 400);
  t.is(limit.json.field, 'querystring.limit');
  const extra = await w.call('PUT', '/api/v1/config/maxcallperip', {
    headers: auth,
    body: { value: 5, surprise: 1 },
  });
  t.is(extra.status, 400);
  t.is(extra.json.field, 'body.surprise');
  const badValue = await w.call('PUT', '/api/v1/config/maxcallperip', {
    headers: auth,
    body: { value: 'lots' },
  });
  t.is(badValue.status, 400, badValue.text);
  t.is(badValue.json.field, 'body.value');
});

test('the OpenAPI document lists the routes with their schemas', async (t) => {
  const w = await startTestWeb(t);
  const doc = await w.call('GET', '/api/v1/openapi.json', {
    headers: { authorization: basic(ADMIN, ADMIN_PASSWORD) },
  });
  t.is(doc.status, 200);
  t.is(doc.json.openapi, '3.0.3');
  t.truthy(doc.json.paths['/api/v1/bans'].get);
  t.truthy(doc.json.paths['/api/v1/bans'].post.requestBody);
});

test('webratelimit: an address over its requests per minute gets 429 until the minute ends', async (t) => {
  const w = await startTestWeb(t, { webratelimit: 3 });
  for (let i = 0; i < 3; i++) t.is((await w.call('GET', '/api/v1/health')).status, 200);
  const limited = await w.call('GET', '/api/v1/health');
  t.is(limited.status, 429);
  t.is(limited.json.code, 'TG_WEB_RATE_LIMITED');
});
