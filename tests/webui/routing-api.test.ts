// /api/v1/trunks, /api/v1/routes and /api/v1/tariffs over the real RoutingService and
// BillingService on a real store (src/webui/api/routing.ts, tariffs.ts): what the console's
// trunks/routes/tariffs commands do, over HTTP, with the same checks.
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:https';
import { join } from 'node:path';
import test from 'ava';
import { BillingService } from '../../src/control/billing/service.ts';
import { RoutingService } from '../../src/control/routing/routing.ts';
import { ROUTING_VERSION_KEY } from '../../src/store/records.ts';
import { freePort, startDaemon, testConfig } from '../helpers/daemon.ts';
import { eventually } from '../helpers/guarded-link.ts';
import { tempDir } from '../helpers/tmp.ts';
import { login, startTestWeb, type TestWeb } from './helpers.ts';

const KEY = 'Route-Key-4711-xyz';

async function withRouting(
  t: import('ava').ExecutionContext,
  config: Record<string, unknown> = {},
): Promise<TestWeb & { headers: Record<string, string>; cookie: string }> {
  const w = await startTestWeb(t, config);
  w.ctx.routing = new RoutingService(w.store, w.ctx.log);
  const { cookie, csrf } = await login(w);
  return { ...w, cookie, headers: { cookie, 'x-csrf-token': csrf } };
}

async function withBilling(t: import('ava').ExecutionContext, config: Record<string, unknown>) {
  const w = await withRouting(t, config);
  const billing = new BillingService({
    store: w.store,
    settings: w.settings,
    accounts: w.ctx.users,
    log: w.ctx.log,
  });
  w.ctx.billing = billing;
  t.teardown(() => billing.close());
  return { ...w, billing };
}

const version = (w: TestWeb) => Number(w.store.tables.meta.get(ROUTING_VERSION_KEY) ?? 0);

test('trunks are added, listed and deleted; the proxy is told (routingVersion moves)', async (t) => {
  const w = await withRouting(t);
  const before = version(w);
  const add = await w.call('POST', '/api/v1/trunks', {
    headers: w.headers,
    body: { name: 'carrier', host: '192.0.2.10', transport: 'tls', inboundIps: ['192.0.2.0/28'] },
  });
  t.is(add.status, 201, add.text);
  t.like(add.json, {
    name: 'carrier',
    host: '192.0.2.10',
    port: 5061,
    transport: 'tls',
    inboundIps: ['192.0.2.0/28'],
    timeoutSeconds: 5,
  });
  t.true(version(w) > before);

  const list = await w.call('GET', '/api/v1/trunks', { headers: { cookie: w.cookie } });
  t.is(list.status, 200, list.text);
  t.is(list.json.total, 1);
  t.is(list.json.items[0].name, 'carrier');

  const dup = await w.call('POST', '/api/v1/trunks', {
    headers: w.headers,
    body: { name: 'carrier', host: '192.0.2.11' },
  });
  t.is(dup.status, 409, dup.text);
  t.is(w.ctx.routing!.listTrunks()[0]!.host, '192.0.2.10', 'the first trunk is kept');

  const del = await w.call('DELETE', '/api/v1/trunks/carrier', { headers: w.headers });
  t.is(del.status, 200, del.text);
  t.deepEqual(del.json, { deleted: 'carrier' });
  t.deepEqual(w.ctx.routing!.listTrunks(), []);
  const gone = await w.call('DELETE', '/api/v1/trunks/carrier', { headers: w.headers });
  t.is(gone.status, 404, gone.text);
});

test('a bad trunk is refused with 400 naming the field, and nothing is stored', async (t) => {
  const w = await withRouting(t);
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ name: 'c1', host: 'sip.example.com' }, 'body.host'],
    [{ name: 'c1', host: '0.0.0.0' }, 'body.host'],
    [{ name: '-bad', host: '192.0.2.1' }, 'body.name'],
    [{ name: 'c1', host: '192.0.2.1', port: 70000 }, 'body.port'],
    [{ name: 'c1', host: '192.0.2.1', transport: 'sctp' }, 'body.transport'],
    [{ name: 'c1', host: '192.0.2.1', inboundIps: ['10.0.0.0/99'] }, 'body.inboundIps'],
    [{ name: 'c1', host: '192.0.2.1', inboundIps: ['10.0.0.1,10.0.0.2'] }, 'body.inboundIps.0'],
    [{ name: 'c1', host: '192.0.2.1', techprefix: '12' }, 'body.techprefix'],
    [{ name: 'c1', host: '192.0.2.1', timeoutSeconds: 0 }, 'body.timeoutSeconds'],
    [{ name: 'c1', host: '192.0.2.1', color: 'red' }, 'body.color'],
    [{ name: 'c1' }, 'body.host'],
  ];
  const before = version(w);
  for (const [body, field] of cases) {
    const r = await w.call('POST', '/api/v1/trunks', { headers: w.headers, body });
    t.is(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    t.is(r.json.field, field, JSON.stringify(body));
  }
  t.deepEqual(w.ctx.routing!.listTrunks(), [], 'no refused trunk was stored');
  t.is(version(w), before, 'the proxy was not told of any change');
});

test('routes are added to an existing trunk, listed by prefix, and deleted; a trunk in use stays', async (t) => {
  const w = await withRouting(t);
  t.is(
    (
      await w.call('POST', '/api/v1/trunks', {
        headers: w.headers,
        body: { name: 'carrier', host: '192.0.2.10' },
      })
    ).status,
    201,
  );
  const add = await w.call('POST', '/api/v1/routes', {
    headers: w.headers,
    body: { prefix: '+49', trunk: 'carrier', priority: 2, strip: 1, prepend: '0049' },
  });
  t.is(add.status, 201, add.text);
  t.like(add.json, {
    prefix: '+49',
    trunk: 'carrier',
    priority: 2,
    weight: 1,
    strip: 1,
    prepend: '0049',
  });
  const any = await w.call('POST', '/api/v1/routes', {
    headers: w.headers,
    body: { prefix: 'any', trunk: 'carrier' },
  });
  t.is(any.status, 201, any.text);
  t.is(any.json.prefix, '');

  const list = await w.call('GET', '/api/v1/routes', { headers: { cookie: w.cookie } });
  t.is(list.status, 200, list.text);
  t.deepEqual(
    list.json.items.map((r: { prefix: string }) => r.prefix),
    ['', '+49'],
  );
  const some = await w.call('GET', '/api/v1/routes?prefix=%2B4', { headers: { cookie: w.cookie } });
  t.is(some.json.total, 1);

  const inUse = await w.call('DELETE', '/api/v1/trunks/carrier', { headers: w.headers });
  t.is(inUse.status, 409, inUse.text);
  t.regex(inUse.json.message, /"\+49"/);
  t.is(w.ctx.routing!.listTrunks().length, 1, 'a trunk routes use is kept');

  const del = await w.call('DELETE', '/api/v1/routes/%2B49?trunk=carrier', { headers: w.headers });
  t.is(del.status, 200, del.text);
  t.deepEqual(del.json, { removed: 1 });
  const delAny = await w.call('DELETE', '/api/v1/routes/any', { headers: w.headers });
  t.deepEqual(delAny.json, { removed: 1 });
  t.deepEqual(w.ctx.routing!.listRoutes(), []);
  const none = await w.call('DELETE', '/api/v1/routes/49', { headers: w.headers });
  t.is(none.status, 404, none.text);
  const bad = await w.call('DELETE', '/api/v1/routes/4x9', { headers: w.headers });
  t.is(bad.status, 400, bad.text);
  t.is(bad.json.field, 'params.prefix');
});

test('a bad route is refused with 400 naming the field, one to an unknown trunk with 404; nothing is stored', async (t) => {
  const w = await withRouting(t);
  w.ctx.routing!.addTrunk({
    name: 'carrier',
    host: '192.0.2.10',
    port: 5060,
    transport: 'udp',
    inboundIps: [],
    techprefix: '',
    timeoutSeconds: 5,
  });
  const before = version(w);
  const cases: Array<[Record<string, unknown>, string]> = [
    [{ prefix: '49abc', trunk: 'carrier' }, 'body.prefix'],
    [{ prefix: '49', trunk: 'no such!' }, 'body.trunk'],
    [{ prefix: '49', trunk: 'carrier', prepend: '0x' }, 'body.prepend'],
    [{ prefix: '49', trunk: 'carrier', priority: -1 }, 'body.priority'],
    [{ prefix: '49', trunk: 'carrier', strip: 33 }, 'body.strip'],
    [{ prefix: '49', trunk: 'carrier', weight: 'heavy' }, 'body.weight'],
    [{ prefix: '49' }, 'body.trunk'],
  ];
  for (const [body, field] of cases) {
    const r = await w.call('POST', '/api/v1/routes', { headers: w.headers, body });
    t.is(r.status, 400, `${JSON.stringify(body)}: ${r.text}`);
    t.is(r.json.field, field, JSON.stringify(body));
  }
  const unknown = await w.call('POST', '/api/v1/routes', {
    headers: w.headers,
    body: { prefix: '49', trunk: 'other' },
  });
  t.is(unknown.status, 404, unknown.text);
  t.regex(unknown.json.message, /no trunk other/);
  t.deepEqual(w.ctx.routing!.listRoutes(), [], 'no refused route was stored');
  t.is(version(w), before);
});

test('tariffs: a CSV file is imported, listed and exported back; a bad file names its lines and imports nothing', async (t) => {
  const w = await withBilling(t, { allowhttpfileupload: 1 });
  const file = [
    'tariff,prefix,price,connect_fee,increments,parent,description',
    'retail,49,0.020,0,60/60,,Germany',
    'retail,4915,0.090,0.01,30/6,,"Germany, mobile"',
    'gold,49,0.015,0,1/1,retail,Germany (gold)',
    '',
  ].join('\n');
  const csvHeaders = { ...w.headers, 'content-type': 'text/csv' };
  const imported = await w.call('POST', '/api/v1/tariffs/import', {
    headers: csvHeaders,
    raw: file,
  });
  t.is(imported.status, 200, imported.text);
  t.deepEqual(imported.json, { tariffs: 2, rates: 3 });

  const list = await w.call('GET', '/api/v1/tariffs', { headers: { cookie: w.cookie } });
  t.is(list.status, 200, list.text);
  t.is(list.json.total, 2);
  t.like(list.json.items[0], { name: 'gold', parent: 'retail', rates: 1 });
  t.like(list.json.items[1], { name: 'retail', parent: null, rates: 2 });

  const csv = await w.call('GET', '/api/v1/tariffs.csv', { headers: { cookie: w.cookie } });
  t.is(csv.status, 200, csv.text);
  t.regex(String(csv.headers['content-type']), /^text\/csv/);
  t.regex(String(csv.headers['content-disposition']), /filename="tariffs.csv"/);
  t.is(csv.text, w.billing.tariffs.exportCsv(), 'the book’s own export');
  t.true(csv.text.includes('retail,4915,0.09,0.01,30/6,,"Germany, mobile"'), csv.text);
  const one = await w.call('GET', '/api/v1/tariffs.csv?tariff=gold', {
    headers: { cookie: w.cookie },
  });
  t.is(one.text.trimEnd().split('\n').length, 2, 'header and gold’s one rate');
  const missing = await w.call('GET', '/api/v1/tariffs.csv?tariff=nope', {
    headers: { cookie: w.cookie },
  });
  t.is(missing.status, 404, missing.text);

  const retailBefore = w.billing.tariffs.exportCsv('retail');
  // A bad file: every bad line named, nothing of it stored (retail keeps its two rates).
  const bad = [
    'tariff,prefix,price',
    'retail,49,0.030',
    'retail,33,ten',
    'new,44,0.01',
    'new,44x!,0.01',
  ].join('\n');
  const refused = await w.call('POST', '/api/v1/tariffs/import', {
    headers: csvHeaders,
    raw: bad,
  });
  t.is(refused.status, 400, refused.text);
  t.is(refused.json.field, 'body');
  t.regex(refused.json.message, /line 3: .*price/);
  t.regex(refused.json.message, /line 5: prefix/);
  t.regex(refused.json.message, /nothing imported/);
  t.false(w.billing.tariffs.has('new'), 'no tariff of the refused file was stored');
  t.is(w.billing.tariffs.exportCsv('retail'), retailBefore, 'retail keeps its rates');
  const noHeader = await w.call('POST', '/api/v1/tariffs/import', {
    headers: csvHeaders,
    raw: 'just words\n',
  });
  t.is(noHeader.status, 400, noHeader.text);

  const del = await w.call('DELETE', '/api/v1/tariffs/gold', { headers: w.headers });
  t.is(del.status, 200, del.text);
  t.false(w.billing.tariffs.has('gold'));
});

test('tariff import is a file upload: refused (415) unless allowhttpfileupload is 1', async (t) => {
  const w = await withBilling(t, {});
  const r = await w.call('POST', '/api/v1/tariffs/import', {
    headers: { ...w.headers, 'content-type': 'text/csv' },
    raw: 'tariff,prefix,price\nretail,49,0.02\n',
  });
  t.is(r.status, 415, r.text);
  t.deepEqual(w.billing.tariffs.list(), []);
});

test('every route is refused without a session or key, and a session without its CSRF token cannot change anything', async (t) => {
  const w = await withBilling(t, { allowhttpfileupload: 1, apidefneedlogin: 0, httpapikey: KEY });
  const changes: Array<[string, string, { body?: unknown; raw?: string; type?: string }]> = [
    ['POST', '/api/v1/trunks', { body: { name: 'c', host: '192.0.2.1' } }],
    ['DELETE', '/api/v1/trunks/c', {}],
    ['POST', '/api/v1/routes', { body: { prefix: '49', trunk: 'c' } }],
    ['DELETE', '/api/v1/routes/49', {}],
    ['POST', '/api/v1/tariffs/import', { raw: 'tariff,prefix,price\nr,49,1\n', type: 'text/csv' }],
    ['DELETE', '/api/v1/tariffs/r', {}],
  ];
  const reads = ['/api/v1/trunks', '/api/v1/routes', '/api/v1/tariffs', '/api/v1/tariffs.csv'];
  for (const path of reads) {
    const anon = await w.call('GET', path);
    t.is(anon.status, 401, `${path}: ${anon.text}`);
    const wrong = await w.call('GET', path, { headers: { 'x-api-key': 'wrong-Key-0' } });
    t.is(wrong.status, 401, `${path} with a wrong key`);
    const keyed = await w.call('GET', path, { headers: { 'x-api-key': KEY } });
    t.is(keyed.status, 200, `${path} with the key: ${keyed.text}`);
  }
  for (const [method, path, o] of changes) {
    const headers: Record<string, string> = o.type ? { 'content-type': o.type } : {};
    const call = (extra: Record<string, string>) =>
      w.call(method, path, {
        headers: { ...headers, ...extra },
        ...(o.raw !== undefined ? { raw: o.raw } : {}),
        ...(o.body !== undefined ? { body: o.body } : {}),
      });
    const anon = await call({});
    t.is(anon.status, 401, `${method} ${path} anonymous: ${anon.text}`);
    const noCsrf = await call({ cookie: w.cookie });
    t.is(noCsrf.status, 403, `${method} ${path} without CSRF: ${noCsrf.text}`);
  }
  t.deepEqual(w.ctx.routing!.listTrunks(), []);
  t.deepEqual(w.ctx.routing!.listRoutes(), []);
  t.deepEqual(w.billing.tariffs.list(), []);

  // The same changes with the API key (no session: no CSRF token needed) go through.
  const trunk = await w.call('POST', '/api/v1/trunks', {
    headers: { 'x-api-key': KEY },
    body: { name: 'c', host: '192.0.2.1' },
  });
  t.is(trunk.status, 201, trunk.text);
});

test('without the services the routes say so (501), and the OpenAPI document lists them', async (t) => {
  const w = await startTestWeb(t);
  const { cookie } = await login(w);
  for (const path of ['/api/v1/trunks', '/api/v1/routes', '/api/v1/tariffs']) {
    const r = await w.call('GET', path, { headers: { cookie } });
    t.is(r.status, 501, `${path}: ${r.text}`);
  }
  const doc = await w.call('GET', '/api/v1/openapi.json', { headers: { cookie } });
  t.is(doc.status, 200);
  const paths = Object.keys(doc.json.paths);
  for (const p of [
    '/api/v1/trunks',
    '/api/v1/trunks/{name}',
    '/api/v1/routes',
    '/api/v1/routes/{prefix}',
    '/api/v1/tariffs',
    '/api/v1/tariffs/import',
    '/api/v1/tariffs.csv',
  ])
    t.true(paths.includes(p), `${p} in ${paths.join(' ')}`);
});

test('the daemon gives the API the routing and tariffs the console changes', async (t) => {
  const dataDir = tempDir(t);
  const webport = await freePort();
  const configFile = await testConfig(dataDir, { webaddress: '127.0.0.1', webport });
  const d = await startDaemon(t, { dataDir, configFile });
  t.teardown(() => d.stop());
  t.true(await eventually(async () => d.log().includes('web UI and API listening')));
  const added = await d.ctl('admins', 'add', 'ops', '--json');
  t.is(added.code, 0, added.stderr);
  const password = JSON.parse(added.stdout).generatedPassword as string;
  const trunk = await d.ctl('trunks', 'add', 'carrier', '--host', '192.0.2.10');
  t.is(trunk.code, 0, trunk.stderr);
  const ca = readFileSync(join(dataDir, 'tls', 'ca.pem'));
  const get = (path: string) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const auth = `Basic ${Buffer.from(`ops:${password}`).toString('base64')}`;
      const req = request(
        {
          host: '127.0.0.1',
          port: webport,
          path,
          agent: new Agent({ ca }),
          headers: { authorization: auth },
        },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.setTimeout(20_000, () => req.destroy(new Error(`${path}: no answer in 20 s`)));
      req.end();
    });
  const trunks = await get('/api/v1/trunks');
  t.is(trunks.status, 200, trunks.text);
  t.is(JSON.parse(trunks.text).items[0].name, 'carrier');
  const routes = await get('/api/v1/routes');
  t.is(routes.status, 200, routes.text);
  const tariffs = await get('/api/v1/tariffs');
  t.is(tariffs.status, 200, tariffs.text);
});
