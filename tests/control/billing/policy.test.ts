// Every rule of call authorization (src/control/billing/policy.ts), each with its key set to
// a non-default value and the effect observed through authorize() and the CDRs.
import test from 'ava';
import { parseMoney } from '../../../src/control/billing/money.ts';
import { createLogger } from '../../../src/log.ts';
import { call, DAY, end, MONDAY, request, rig, tariffs } from './helpers.ts';

const MIN = 60;
/** 1.00 per minute, whole minutes: a 10-minute call costs exactly 10. */
function flat(r: ReturnType<typeof rig>) {
  tariffs(r, [['default', '', '1', '0', '60/60', '']]);
}

function refusedBy(d: ReturnType<typeof call>): string | undefined {
  return d.allow ? undefined : d.rule;
}

test("the reference's dynamic daily limit example, day by day (checkmaxdyndailycredit 1, multiplier 7, min 10)", (t) => {
  const r = rig(t);
  flat(r);
  r.user('alice', { postpaid: 'true' });
  const spend = (day: number, amount: number) => {
    for (let i = 0; i < amount / 10; i++)
      t.true(call(r, 'alice', '4930123', MONDAY + day * DAY + i * 1000, 10 * MIN).allow);
  };
  // Monday: 10. Fine; the highest day becomes 10.
  spend(0, 10);
  t.is(r.billing.account('alice', MONDAY + 1 * DAY).highestDay, '10.00');
  // Tuesday: nothing. Wednesday: 5, below 10: no change.
  t.true(call(r, 'alice', '4930123', MONDAY + 2 * DAY, 5 * MIN).allow);
  t.is(r.billing.account('alice', MONDAY + 3 * DAY).highestDay, '10.00');
  t.is(r.billing.account('alice', MONDAY + 3 * DAY).limits.dynamicdaily, '70.00');
  // Thursday: 30, under 70: allowed; the highest day becomes 30.
  spend(3, 30);
  t.is(r.billing.account('alice', MONDAY + 4 * DAY).highestDay, '30.00');
  // Friday: refused once the spend reaches 210 = 30 × 7.
  spend(4, 210);
  t.is(r.billing.account('alice', MONDAY + 4 * DAY).spentToday, '210.00');
  const refused = call(r, 'alice', '4930123', MONDAY + 4 * DAY + 3_600_000, MIN);
  t.false(refused.allow);
  t.is(refusedBy(refused), 'checkmaxdyndailycredit');
  t.is(refused.allow ? 0 : refused.status, 403, 'quotadiscreason default');
  t.is(r.billing.account('alice', MONDAY + 4 * DAY).lastRefusal?.rule, 'checkmaxdyndailycredit');
});

test('dynamic limit: multiplier, minimum, traffic senders only at level 2, quotadiscreason', (t) => {
  const r = rig(t, {
    maxdyndailycredit_multiplier: 2,
    maxdyndailycreditforenduser_min: 3,
    maxdynmaxdailycreditforts_min: 4,
    quotadiscreason: 503,
  });
  flat(r);
  r.user('bob', { postpaid: 'true', maxdyndailycredit: '5' });
  r.user('ts', { postpaid: 'true', type: '1' });
  // bob: seeded highest day 5 × 2 = 10.
  for (let i = 0; i < 10; i++) t.true(call(r, 'bob', '4930', MONDAY + i, MIN).allow);
  const d = call(r, 'bob', '4930', MONDAY + 100, MIN);
  t.deepEqual(d.allow ? null : [d.status, d.rule], [503, 'checkmaxdyndailycredit']);
  // A traffic sender is not limited at level 1…
  for (let i = 0; i < 6; i++) t.true(call(r, 'ts', '4930', MONDAY + i, MIN).allow);
  // …and is at level 2, from its own minimum (4; it has spent 6).
  r.settings.set('checkmaxdyndailycredit', '2');
  t.is(refusedBy(call(r, 'ts', '4930', MONDAY + 200, MIN)), 'checkmaxdyndailycredit');
  r.settings.set('checkmaxdyndailycredit', '0');
  t.true(call(r, 'bob', '4930', MONDAY + 300, MIN).allow, 'level 0: off');
});

test('fixed daily limits: maxdailycreditforenduser, maxdailycreditforts, per-user maxdailycredit (maxdailycreditperuser switches on by itself)', (t) => {
  const r = rig(t, {
    maxdailycreditforenduser: 3,
    maxdailycreditforts: 2,
    checkmaxdyndailycredit: 0,
  });
  flat(r);
  r.user('eu', { postpaid: 'true' });
  r.user('ts', { postpaid: 'true', type: '1' });
  for (let i = 0; i < 3; i++) t.true(call(r, 'eu', '49', MONDAY + i, MIN).allow);
  t.is(refusedBy(call(r, 'eu', '49', MONDAY + 10, MIN)), 'maxdailycreditforenduser');
  t.true(call(r, 'eu', '49', MONDAY + DAY, MIN).allow, 'a new day starts from zero');
  for (let i = 0; i < 2; i++) t.true(call(r, 'ts', '49', MONDAY + i, MIN).allow);
  t.is(refusedBy(call(r, 'ts', '49', MONDAY + 10, MIN)), 'maxdailycreditforts');
  t.false(r.settings.valueOf('maxdailycreditperuser') as boolean);
  r.user('carol', { postpaid: 'true', maxdailycredit: '1' });
  t.true(
    r.settings.valueOf('maxdailycreditperuser') as boolean,
    'switched on by a user with maxdailycredit',
  );
  t.true(call(r, 'carol', '49', MONDAY, MIN).allow);
  t.is(refusedBy(call(r, 'carol', '49', MONDAY + 1, MIN)), 'maxdailycredit');
  r.settings.set('maxdailycreditperuser', 'false');
  t.true(
    call(r, 'carol', '49', MONDAY + 2, MIN).allow,
    'per-user field off with maxdailycreditperuser 0',
  );
});

test('a running call is not cut by a daily limit reached meanwhile: the next one is refused', (t) => {
  const r = rig(t, { maxdailycreditforenduser: 2, checkmaxdyndailycredit: 0 });
  flat(r);
  r.user('eu', { postpaid: 'true' });
  const a = request('eu', '49', MONDAY);
  const b = request('eu', '49', MONDAY + 1);
  const da = r.billing.calls.authorize(a);
  const db = r.billing.calls.authorize(b);
  t.deepEqual(
    [da, db].map((d) => d.allow && d.maxDurationSeconds),
    [undefined, undefined],
  );
  r.billing.calls.ended(end(a, 5 * MIN));
  t.is(r.billing.calls.answered(b.callId, MONDAY + 2).maxDurationSeconds, undefined, 'b runs on');
  r.billing.calls.ended(end(b, 5 * MIN));
  t.is(r.billing.account('eu', MONDAY).spentToday, '10.00');
  t.is(refusedBy(call(r, 'eu', '49', MONDAY + 10, MIN)), 'maxdailycreditforenduser');
});

test('postpaid monthly limit (creditcheckforpostp), raised by maxmonthlycreditinc per active month up to maxmonthlycreditend', (t) => {
  const r = rig(t, { checkmaxdyndailycredit: 0 });
  flat(r);
  r.user('pp', {
    postpaid: 'true',
    maxmonthlycredit: '3',
    maxmonthlycreditinc: '2',
    maxmonthlycreditend: '6',
  });
  const dec = Date.UTC(2026, 11, 1);
  for (let i = 0; i < 3; i++) t.true(call(r, 'pp', '49', dec + i * DAY, MIN).allow);
  t.is(refusedBy(call(r, 'pp', '49', dec + 5 * DAY, MIN)), 'maxmonthlycredit');
  // January: December was active, so 3 + 2 = 5.
  const jan = Date.UTC(2027, 0, 1);
  t.is(r.billing.account('pp', jan).limits.maxmonthlycredit, '5.00');
  for (let i = 0; i < 5; i++) t.true(call(r, 'pp', '49', jan + i * DAY, MIN).allow);
  t.is(refusedBy(call(r, 'pp', '49', jan + 9 * DAY, MIN)), 'maxmonthlycredit');
  // February: 3 + 4 = 7, capped at 6.
  t.is(r.billing.account('pp', Date.UTC(2027, 1, 1)).limits.maxmonthlycredit, '6.00');
  // With creditcheckforpostp off a postpaid account is not held to it.
  r.settings.set('creditcheckforpostp', 'false');
  t.true(call(r, 'pp', '49', jan + 10 * DAY, MIN).allow);
});

test('prepaid: the maximum duration is what the credit buys; the charge ends at exactly zero', (t) => {
  const r = rig(t);
  // 0.60/min per second: credit 0.30 buys exactly 30 s.
  tariffs(r, [['default', '', '0.60', '0', '1/1', '']]);
  r.user('pre');
  r.users.set('pre', 'credit', '0.30');
  const req = request('pre', '4930', MONDAY);
  const d = r.billing.calls.authorize(req);
  // The rule named when the proxy cuts the call there (its BYE's Reason, the CDR's reason).
  t.deepEqual(d, { allow: true, maxDurationSeconds: 30, rule: 'credit' });
  t.is(r.billing.calls.answered(req.callId, MONDAY).maxDurationSeconds, 30);
  // The proxy cuts at 30 s; its clock may say a little more: never charged past the reserve.
  r.billing.calls.ended(end(req, 30.4, { disconnectSide: 'proxy', reason: 'credit' }));
  t.is(r.billing.account('pre').credit, '0.00');
  t.is(r.billing.account('pre').creditMicros, 0);
  const next = call(r, 'pre', '4930', MONDAY + 60_000, 10);
  t.deepEqual(next.allow ? null : [next.status, next.rule], [402, 'credit']);
  // A local call (on-net) is free and allowed without credit.
  const local = r.billing.calls.authorize(
    request('pre', 'bob', MONDAY, { destination: 'local', trunk: undefined }),
  );
  t.true(local.allow);
});

test('prepaid: concurrent calls each reserve; together they never spend more than the credit', (t) => {
  const r = rig(t, { absolutetimeout: 120 });
  tariffs(r, [['default', '', '1', '0', '1/1', '']]);
  r.user('pre', { maxlines: '10' });
  r.users.set('pre', 'credit', '5');
  // absolutetimeout 120 s caps each call at 2.00 of reserve: 2 + 2 + 1.
  const calls = [0, 1, 2, 3].map((i) => request('pre', '4930', MONDAY + i));
  const ds = calls.map((c) => r.billing.calls.authorize(c));
  t.deepEqual(
    ds.map((d) => (d.allow ? d.maxDurationSeconds : d.rule)),
    [120, 120, 60, 'credit'],
  );
  t.is(r.billing.account('pre').reserved, '5.00');
  for (const c of calls) r.billing.calls.ended(end(c, 500));
  t.is(r.billing.account('pre').credit, '0.00');
  t.is(r.billing.account('pre').reserved, '0.00');
});

test('maxlines, and maxlinesoffpeak in the offpeakhours schedule', (t) => {
  const r = rig(t, { offpeakhours: ['22:00-06:00', 'sun'] });
  flat(r);
  r.user('l', { postpaid: 'true', maxlines: '2', maxlinesoffpeak: '1' });
  const noon = MONDAY + 12 * 3_600_000;
  const a = request('l', '49', noon);
  const b = request('l', '49', noon);
  t.true(r.billing.calls.authorize(a).allow);
  t.true(r.billing.calls.authorize(b).allow);
  const c = r.billing.calls.authorize(request('l', '49', noon));
  t.deepEqual(c.allow ? null : [c.status, c.rule], [486, 'maxlines']);
  r.billing.calls.ended(end(a, 1));
  t.true(r.billing.calls.authorize(request('l', '49', noon)).allow, 'a line is free again');
  // 23:00 is off-peak: one line only (two are up).
  const night = r.billing.calls.authorize(request('l', '49', MONDAY + 23 * 3_600_000));
  t.deepEqual(night.allow ? null : night.rule, 'maxlinesoffpeak');
  t.is(r.billing.policy.linesInUse('l'), 2);
});

test('speech length: maxslperday and maxslpermonth per caller (calcmaxsl), trunks skipped over theirs', (t) => {
  const r = rig(t, { calcmaxsl: 0 });
  flat(r);
  r.user('sl', { postpaid: 'true', maxslperday: '120', maxslpermonth: '300' });
  r.user('carrier', { type: '2', maxslperday: '90' });
  t.true(call(r, 'sl', '49', MONDAY, 150).allow);
  t.true(call(r, 'sl', '49', MONDAY + 1000, 10).allow, 'calcmaxsl 0: not counted against');
  t.true(r.billing.calls.trunkUsable('carrier', MONDAY));
  r.settings.set('calcmaxsl', '1');
  t.is(refusedBy(call(r, 'sl', '49', MONDAY + 2000, 10)), 'maxslperday');
  t.false(r.billing.calls.trunkUsable('carrier', MONDAY), 'terminated 160 s > 90 s');
  t.true(r.billing.calls.trunkUsable('carrier', MONDAY + DAY), 'a new day');
  t.true(call(r, 'sl', '49', MONDAY + DAY, 150).allow);
  t.is(refusedBy(call(r, 'sl', '49', MONDAY + 2 * DAY, 10)), 'maxslpermonth');
  // -1 (auto) is on when any account has a speech limit.
  r.settings.set('calcmaxsl', '-1');
  t.is(refusedBy(call(r, 'sl', '49', MONDAY + 3 * DAY, 10)), 'maxslpermonth');
});

test('onlylocalaccess keeps an account on-net', (t) => {
  const r = rig(t);
  flat(r);
  r.user('loc', { postpaid: 'true', onlylocalaccess: 'true' });
  t.is(refusedBy(call(r, 'loc', '4930', MONDAY, 10)), 'onlylocalaccess');
  t.true(
    r.billing.calls.authorize(
      request('loc', 'bob', MONDAY, { destination: 'local', trunk: undefined }),
    ).allow,
  );
});

test('blocksatellitecalls and blockpremiumnumbers (libphonenumber metadata), off when set to 0', (t) => {
  const r = rig(t);
  flat(r);
  r.user('f', { postpaid: 'true', maxlines: '100' });
  t.is(refusedBy(call(r, 'f', '+881631234567', MONDAY, 1)), 'blocksatellitecalls');
  t.is(refusedBy(call(r, 'f', '00870772001799', MONDAY, 1)), 'blocksatellitecalls');
  t.is(refusedBy(call(r, 'f', '448712345678', MONDAY, 1)), 'blockpremiumnumbers');
  t.is(refusedBy(call(r, 'f', '+19005551234', MONDAY, 1)), 'blockpremiumnumbers');
  t.true(call(r, 'f', '+491701234567', MONDAY, 1).allow, 'an ordinary mobile');
  r.settings.set('blocksatellitecalls', 'false');
  r.settings.set('blockpremiumnumbers', 'false');
  t.true(call(r, 'f', '+881631234567', MONDAY, 1).allow);
  t.true(call(r, 'f', '448712345678', MONDAY, 1).allow);
});

test('tariff per user with a parent; vgetpriceexactmatch; blockhighcostcalls', (t) => {
  const r = rig(t, { blocknotbilledcalls: 1 });
  tariffs(r, [
    ['retail', '49', '0.10', '0', '60/60', ''],
    ['retail', '4915', '0.50', '0', '60/60', ''],
    ['gold', '4930', '0.05', '0', '60/60', 'retail'],
  ]);
  r.user('g', { postpaid: 'true', tariff: 'gold', maxlines: '50' });
  r.user('ts', { postpaid: 'true', tariff: 'retail', type: '1', maxlines: '50' });
  t.true(call(r, 'g', '4930111', MONDAY, 60).allow);
  t.true(call(r, 'g', '4915111', MONDAY, 60).allow, 'inherited from retail');
  const cdrs = r.billing.cdrs({ user: 'g' }).sort((a, b) => b.prefix!.localeCompare(a.prefix!));
  t.deepEqual(
    cdrs.map((c) => [c.tariff, c.prefix, c.costMicros]),
    [
      ['gold', '4930', 50_000],
      ['retail', '4915', 500_000],
    ],
  );
  // vgetpriceexactmatch 1: traffic senders (resellers) only by an exact match.
  r.settings.set('vgetpriceexactmatch', '1');
  t.is(refusedBy(call(r, 'ts', '4915111', MONDAY, 1)), 'blocknotbilledcalls');
  t.true(call(r, 'ts', '4915', MONDAY, 1).allow);
  t.true(call(r, 'g', '4915111', MONDAY, 1).allow, 'an enduser still by prefix');
  r.settings.set('vgetpriceexactmatch', '2');
  t.is(refusedBy(call(r, 'g', '4915111', MONDAY, 1)), 'blocknotbilledcalls');
  r.settings.set('vgetpriceexactmatch', '0');
  r.settings.set('blockhighcostcalls', '0.2');
  t.is(refusedBy(call(r, 'g', '4915111', MONDAY, 1)), 'blockhighcostcalls');
  t.true(call(r, 'g', '4930111', MONDAY, 1).allow);
});

test('blocknotbilledcalls levels 1 to 5, and notbilledcallerr sets the severity of the log line', (t) => {
  const lines: Array<{ level: number; msg: string; priority?: number }> = [];
  const log = createLogger({
    level: 'info',
    destination: { write: (line: string) => lines.push(JSON.parse(line)) } as never,
  });
  const r = rig(t, {}, { log });
  tariffs(r, [
    ['default', '', '0.10', '0', '60/60', ''],
    ['parent', '33', '0.10', '0', '60/60', ''],
    ['own', '44', '0.10', '0', '60/60', 'parent'],
    ['own', '45', '0.10', '0', '60/60', 'parent'],
  ]);
  r.user('none', { postpaid: 'true', maxlines: '50' });
  r.user('own', { postpaid: 'true', tariff: 'own', maxlines: '50' });
  const at = (level: string) => {
    r.settings.set('blocknotbilledcalls', level);
    return (account: string, n: string) =>
      refusedBy(call(r, account, n, MONDAY, 1)) === 'blocknotbilledcalls';
  };
  let blocked = at('0');
  t.false(blocked('none', '99'));
  blocked = at('1');
  t.false(blocked('none', '99'), 'the catch-all rate bills it');
  r.billing.tariffs.del('default');
  t.true(blocked('none', '99'), 'no rate at all');
  tariffs(r, [['default', '', '0.10', '0', '60/60', '']]);
  blocked = at('2');
  t.true(blocked('none', '99'), 'only the catch-all matches');
  t.false(blocked('own', '4412'));
  blocked = at('3');
  t.true(blocked('none', '4412'), 'no tariff of its own');
  t.false(blocked('own', '3312'), 'inherited is fine at 3');
  blocked = at('4');
  t.true(blocked('own', '3312'), 'inherited from the parent');
  t.false(blocked('own', '4412'));
  blocked = at('5');
  t.true(blocked('own', '4412'), 'the parent has no rate for 44');
  // notbilledcallerr: 0 logs an error with priority 2, 1 an error, 2 a critical (fatal) line.
  const unbilled = () => lines.filter((l) => (l as { rule?: string }).rule === 'notbilledcallerr');
  t.true(
    unbilled().every((l) => l.level === 50 && l.priority === 2),
    JSON.stringify(unbilled()),
  );
  r.settings.set('notbilledcallerr', '1');
  blocked('none', '99');
  t.is(unbilled().at(-1)?.priority, 1);
  r.settings.set('notbilledcallerr', '2');
  blocked('none', '99');
  t.is(unbilled().at(-1)?.level, 60);
});

test('blocknotprofitablecalls compares the account price with the trunk (carrier) tariff', (t) => {
  const r = rig(t);
  tariffs(r, [
    ['default', '49', '0.10', '0', '60/60', ''],
    ['carrier', '49', '0.10', '0', '60/60', ''],
    ['carrier', '4915', '0.20', '0', '60/60', ''],
    ['default', '4915', '0.15', '0', '60/60', ''],
  ]);
  r.user('p', { postpaid: 'true', maxlines: '50' });
  t.true(call(r, 'p', '4915', MONDAY, 1).allow, 'level 0: loss-making calls pass');
  r.settings.set('blocknotprofitablecalls', '1');
  t.is(refusedBy(call(r, 'p', '4915', MONDAY, 1)), 'blocknotprofitablecalls');
  t.true(call(r, 'p', '4930', MONDAY, 1).allow, 'equal is fine at 1');
  r.settings.set('blocknotprofitablecalls', '2');
  t.is(refusedBy(call(r, 'p', '4930', MONDAY, 1)), 'blocknotprofitablecalls');
  r.settings.set('blocknotprofitablecalls', '3');
  const other = r.billing.calls.authorize(
    request('p', '4930', MONDAY, { trunk: 'unknown-carrier' }),
  );
  t.is(other.allow ? undefined : other.rule, 'blocknotprofitablecalls', 'no cost known');
  const cdr = r.billing.cdrs({ user: 'p' }).find((c) => c.dialled === '4915' && !c.refused);
  t.is(cdr?.carrierCostMicros, parseMoney('0.20'));
});

test('refused calls get a CDR naming the rule; CDRs are queryable by account and time', async (t) => {
  const r = rig(t);
  flat(r);
  r.user('q');
  r.users.set('q', 'credit', '1');
  t.true(call(r, 'q', '4930', MONDAY, 30).allow);
  t.false(call(r, 'q', '4930', MONDAY + DAY, 30).allow);
  await r.billing.ledger.flush();
  const all = r.billing.cdrs({ user: 'q' });
  t.deepEqual(
    all.map((c) => [c.refused, c.reason, c.costMicros]),
    [
      [false, 'BYE', 1_000_000],
      [true, 'credit', 0],
    ],
  );
  t.is(r.billing.cdrs({ user: 'q', since: MONDAY + DAY / 2 }).length, 1);
  t.is(r.billing.cdrs({ since: MONDAY + DAY / 2 }).length, 1);
});
