// /api/v1/accounts, top-up, CDRs (page and CSV) and the portal's own account and calls, over
// the real BillingService on a real store (src/webui/api/billing.ts).
import test from 'ava';
import { csvCell } from '../../src/control/billing/cdr-csv.ts';
import { BillingService } from '../../src/control/billing/service.ts';
import { basic, login, startTestWeb, type TestWeb } from './helpers.ts';

const ALICE = { name: 'alice', password: 'Wonder-land-42' };

async function withBilling(
  t: import('ava').ExecutionContext,
): Promise<TestWeb & { billing: BillingService }> {
  const w = await startTestWeb(t);
  const billing = new BillingService({
    store: w.store,
    settings: w.settings,
    accounts: w.ctx.users,
    log: w.ctx.log,
  });
  w.ctx.users.useCredit(billing);
  w.ctx.billing = billing;
  t.teardown(() => billing.close());
  w.ctx.users.add(ALICE.name, ALICE.password);
  billing.tariffs.importCsv('tariff,prefix,price,increments\ndefault,,0.60,1/1\n');
  return { ...w, billing };
}

/** One call of alice's, authorized and ended through the policy, as the proxy reports it. */
async function call(b: BillingService, n: number, dialled: string, seconds: number) {
  const at = Date.UTC(2026, 11, 6, 8, 0, n);
  const req = {
    callId: `call-${n}`,
    source: { transport: 'udp' as const, ip: '192.0.2.9', port: 5060 },
    account: ALICE.name,
    accountKind: 'user' as const,
    callerId: n === 2 ? '=HYPERLINK("http://x")' : ALICE.name,
    dialled,
    destination: 'trunk' as const,
    trunk: 'carrier',
    at,
  };
  const allowed = b.calls.authorize(req).allow;
  b.calls.ended({
    ...req,
    startedAt: at,
    answeredAt: allowed ? at : undefined,
    endedAt: at + seconds * 1000,
    durationSeconds: allowed ? seconds : 0,
    disconnectSide: 'caller',
    reason: allowed ? 'BYE' : 'refused',
    status: allowed ? 200 : 402,
  });
  await b.ledger.flush();
}

test('an account is topped up with decimal text and shows its balance; bad amounts are refused naming the field', async (t) => {
  const w = await withBilling(t);
  const { cookie, csrf } = await login(w);
  const headers = { cookie, 'x-csrf-token': csrf };
  const topup = await w.call('POST', '/api/v1/accounts/alice/topup', {
    headers,
    body: { amount: '12.50' },
  });
  t.is(topup.status, 200, topup.text);
  t.like(topup.json, { user: 'alice', credit: '12.50', creditMicros: 12_500_000 });

  const list = await w.call('GET', '/api/v1/accounts?q=ali', { headers: { cookie } });
  t.is(list.status, 200, list.text);
  t.is(list.json.total, 1);
  t.like(list.json.items[0], { name: 'alice', creditMicros: 12_500_000, spentTodayMicros: 0 });
  t.truthy(list.json.items[0].limits);

  for (const amount of ['12.5000001', '1e3', 'ten', '0x10']) {
    const bad = await w.call('POST', '/api/v1/accounts/alice/topup', { headers, body: { amount } });
    t.is(bad.status, 400, `${amount}: ${bad.text}`);
    t.is(bad.json.field, 'body.amount');
  }
  const nobody = await w.call('POST', '/api/v1/accounts/bob/topup', {
    headers,
    body: { amount: '1' },
  });
  t.is(nobody.status, 404, nobody.text);
  const noCsrf = await w.call('POST', '/api/v1/accounts/alice/topup', {
    headers: { cookie },
    body: { amount: '1' },
  });
  t.is(noCsrf.status, 403, 'a session needs its CSRF token to top up');
  t.is(Number(w.billing.ledger.credit('alice')), 12_500_000, 'nothing refused was added');
});

test('CDRs are searched, paged and exported as CSV; a caller ID that looks like a formula stays text', async (t) => {
  const w = await withBilling(t);
  const { cookie, csrf } = await login(w);
  await w.call('POST', '/api/v1/accounts/alice/topup', {
    headers: { cookie, 'x-csrf-token': csrf },
    body: { amount: '100' },
  });
  await call(w.billing, 1, '4930123456', 60);
  await call(w.billing, 2, '4420777', 30);
  await call(w.billing, 3, '4930999', 10);
  const all = await w.call('GET', '/api/v1/cdrs?account=alice&limit=2', { headers: { cookie } });
  t.is(all.status, 200, all.text);
  t.is(all.json.total, 3);
  t.deepEqual(
    all.json.items.map((c: { callId: string }) => c.callId),
    ['call-1', 'call-2'],
    'the latest to end first (call-1 talked longest), one page',
  );
  const berlin = await w.call('GET', '/api/v1/cdrs?dialled=4930', { headers: { cookie } });
  t.is(berlin.json.total, 2);
  t.true(berlin.json.items.every((c: { costMicros: number }) => c.costMicros > 0));

  const csv = await w.call('GET', '/api/v1/cdrs.csv?account=alice', { headers: { cookie } });
  t.is(csv.status, 200);
  t.regex(String(csv.headers['content-type']), /^text\/csv/);
  t.regex(String(csv.headers['content-disposition']), /attachment; filename="cdrs.csv"/);
  const lines = csv.text.trimEnd().split('\r\n');
  t.is(lines.length, 4, 'header and three calls');
  t.true(lines[0]!.startsWith('callId,account,callerId,dialled'));
  t.true(
    lines.some((l) => l.includes(`"'=HYPERLINK(""http://x"")"`)),
    'formula neutralised',
  );
  t.is((await w.call('GET', '/api/v1/cdrs.csv?bogus=1', { headers: { cookie } })).status, 400);

  // The account's own view in the portal: its calls and balance, nobody else's.
  const portal = await w.call('GET', '/api/v1/portal/cdrs', {
    headers: { authorization: basic(ALICE.name, ALICE.password) },
  });
  t.is(portal.status, 200, portal.text);
  t.is(portal.json.total, 3);
  const account = await w.call('GET', '/api/v1/portal/account', {
    headers: { authorization: basic(ALICE.name, ALICE.password) },
  });
  t.is(account.status, 200, account.text);
  t.is(account.json.name, 'alice');
  t.true(account.json.creditMicros < 100_000_000, 'the calls were charged');
  // Everybody's CDRs are the administrator's: a SIP account's credentials are refused there.
  const others = await w.call('GET', '/api/v1/cdrs', {
    headers: { authorization: basic(ALICE.name, ALICE.password) },
  });
  t.true(others.status === 401 || others.status === 403, others.text);
});

test('without billing in the daemon the routes say so (501), not a crash', async (t) => {
  const w = await startTestWeb(t);
  const { cookie } = await login(w);
  const r = await w.call('GET', '/api/v1/cdrs', { headers: { cookie } });
  t.is(r.status, 501, r.text);
  t.regex(r.json.message, /billing is not available/);
});

test('CSV cells: quoting per RFC 4180, times in ISO 8601, formulas defused', (t) => {
  t.is(csvCell('dialled', '49,30'), '"49,30"');
  t.is(csvCell('reason', 'say "hi"'), '"say ""hi"""');
  t.is(csvCell('endedAt', Date.UTC(2026, 11, 6)), '2026-12-06T00:00:00.000Z');
  t.is(csvCell('callerId', '+4930'), "'+4930");
  t.is(csvCell('callerId', '@SUM(A1)'), "'@SUM(A1)");
  t.is(csvCell('costMicros', -5), '-5', 'numbers are numbers');
  t.is(csvCell('trunk', undefined), '');
});

test('without the call table the calls routes say so (501)', async (t) => {
  const w = await startTestWeb(t);
  const { cookie, csrf } = await login(w);
  const list = await w.call('GET', '/api/v1/calls', { headers: { cookie } });
  t.is(list.status, 501, list.text);
  const hangup = await w.call('DELETE', '/api/v1/calls/abc', {
    headers: { cookie, 'x-csrf-token': csrf },
  });
  t.is(hangup.status, 501, hangup.text);
});
