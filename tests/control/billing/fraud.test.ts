// Fraud rules: number blacklists (fixed, dynamic with expiry, smart from call statistics)
// and the auto ban of callers with bad call statistics.
import test from 'ava';
import { MIN_CALLS } from '../../../src/control/billing/callers.ts';
import { end, MONDAY, request, rig, tariffs } from './helpers.ts';

function setup(
  t: import('ava').ExecutionContext,
  config: Record<string, unknown> = {},
  banIp?: (ip: string) => void,
) {
  const r = rig(t, config, banIp ? { banIp } : {});
  tariffs(r, [['default', '', '0.01', '0', '1/1', '']]);
  r.user('u', { postpaid: 'true', maxlines: '1000', maxlinesoffpeak: '1000' });
  r.user('v', { postpaid: 'true', maxlines: '1000', maxlinesoffpeak: '1000' });
  return r;
}

function rule(
  r: ReturnType<typeof setup>,
  account: string,
  dialled: string,
  at: number,
  ip = '192.0.2.1',
) {
  const req = request(account, dialled, at, { source: { transport: 'udp', ip, port: 5060 } });
  const d = r.billing.calls.authorize(req);
  return { d, req, rule: d.allow ? undefined : d.rule };
}

test('fixed blacklist: numbers and prefixes, until removed; it survives a restart', async (t) => {
  const r = setup(t);
  r.billing.blacklistAdd('+4490123', 0, 'fraud desk');
  r.billing.blacklistAdd('3366*', 0, 'premium block');
  t.is(rule(r, 'u', '004490123', MONDAY).rule, 'blacklist');
  t.is(rule(r, 'u', '336612345', MONDAY).rule, 'blacklist');
  t.is(rule(r, 'u', '4490124', MONDAY).rule, undefined);
  t.is(r.billing.blacklist.list()[0]?.kind, 'fixed');
  t.throws(() => r.billing.blacklistAdd('12*3', 0, 'x'), {
    code: 'TG_BILLING_BAD_NUMBER',
  } as never);
  t.true(r.billing.blacklist.remove('3366*'));
  t.is(rule(r, 'u', '336612345', MONDAY).rule, undefined);
  const { Blacklist } = await import('../../../src/control/billing/blacklist.ts');
  const again = new Blacklist(r.store, (await import('./helpers.ts')).quiet);
  t.is(again.check('4490123', Date.now())?.kind, 'fixed');
});

test('dynamic blacklist: an entry with an expiry stops blocking when it expires', (t) => {
  const r = setup(t);
  const record = r.billing.blacklistAdd('4477*', 3600, 'one hour');
  t.is(record.kind, 'dynamic');
  t.is(rule(r, 'u', '447700', Date.now()).rule, 'blacklist');
  t.is(rule(r, 'u', '447700', record.expiresAt + 1).rule, undefined);
});

test('smart blacklist (smartblacklist): a number many sources call and few answer is blocked for a day', (t) => {
  const r = setup(t, { smartblacklist: 6 });
  const now = Date.now();
  for (let i = 0; i < 6; i++) {
    const { req } = rule(r, i % 2 ? 'u' : 'v', '25212345', now + i);
    t.is(rule(r, 'u', '4930', now).rule, undefined);
    r.billing.calls.ended(end(req, undefined));
  }
  const blocked = rule(r, 'u', '25212345', now + 10);
  t.is(blocked.rule, 'blacklist');
  const entry = r.billing.blacklist.list().find((e) => e.kind === 'smart');
  t.regex(entry!.reason, /smart: 6 calls .* 2 sources, 0 answered/);
  t.is(entry!.expiresAt - entry!.createdAt, 86_400_000);
  // Off (0, the default): never learned.
  const off = setup(t);
  for (let i = 0; i < 20; i++) {
    const { req } = rule(off, i % 2 ? 'u' : 'v', '25299999', now + i);
    off.billing.calls.ended(end(req, undefined));
  }
  t.is(rule(off, 'u', '25299999', now + 30).rule, undefined);
});

test('auto ban (autoban): a caller with bad statistics is rejected; with autoban 2 its address is banned too', (t) => {
  const banned: string[] = [];
  const r = setup(t, { autoban: 2 }, (ip) => banned.push(ip));
  const now = Date.now();
  for (let i = 0; i < MIN_CALLS; i++) {
    const { req, d } = rule(r, 'u', `4930${i}`, now + i, '198.51.100.4');
    t.true(d.allow);
    r.billing.calls.ended(end(req, undefined));
  }
  const refused = rule(r, 'u', '4930', now + 100, '198.51.100.4');
  t.is(refused.rule, 'autoban');
  t.deepEqual(banned, ['198.51.100.4']);
  t.is(rule(r, 'v', '4930', now + 100, '198.51.100.5').rule, undefined, 'others are not affected');
  // autoban 1: rejected, not banned; 0: nothing.
  const banned1: string[] = [];
  const r1 = setup(t, { autoban: 1 }, (ip) => banned1.push(ip));
  for (let i = 0; i < MIN_CALLS; i++)
    r1.billing.calls.ended(end(rule(r1, 'u', '4930', now + i).req, undefined));
  t.is(rule(r1, 'u', '4930', now + 100).rule, 'autoban');
  t.deepEqual(banned1, []);
  const r0 = setup(t, { autoban: 0 });
  for (let i = 0; i < MIN_CALLS * 2; i++)
    r0.billing.calls.ended(end(rule(r0, 'u', '4930', now + i).req, undefined));
  t.is(rule(r0, 'u', '4930', now + 100).rule, undefined);
});
