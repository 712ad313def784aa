// Every address-level counter, with a fake clock: just below the threshold nothing happens,
// at the threshold one ban, after the window the count starts again, and after
// reenabledosblocked the source is served again with fresh counters.
import test from 'ava';
import type { GuardEvent } from '../../../src/control/guard/guard.ts';
import { ATTACKER, HOUR, MINUTE, SECOND, setup } from './setup.ts';

interface RuleCase {
  rule: string;
  config: Record<string, unknown>;
  threshold: number;
  periodMs: number;
  scope: 'ip' | 'ip:port';
  event: (i: number) => GuardEvent;
}

const quiet = { fastauthsubswrongusermsg: 0, maxsubsipauthrequest: 0 };

const CASES: RuleCase[] = [
  {
    rule: 'maxsubsmsgcount',
    config: { maxsubsmsgcount: 100, maxsubsmsgperiod: '3m' },
    threshold: 100,
    periodMs: 3 * MINUTE,
    scope: 'ip',
    event: () => ({ kind: 'message', ip: ATTACKER, port: 5060, method: 'REGISTER' }),
  },
  {
    rule: 'maxwrongmsgallowed',
    config: { maxwrongmsgallowed: 40, maxwrongmsgperiod: '1h' },
    threshold: 40,
    periodMs: HOUR,
    scope: 'ip',
    event: () => ({ kind: 'wrong', ip: ATTACKER, port: 5060 }),
  },
  {
    rule: 'maxsubsipauthrequest',
    config: { maxsubsipauthrequest: 30, fastauthsubswrongusermsg: 0, maxsubfailauthperiod: '1h' },
    threshold: 30,
    periodMs: HOUR,
    scope: 'ip',
    event: () => ({ kind: 'auth-challenge', ip: ATTACKER, port: 5060, method: 'REGISTER' }),
  },
  {
    rule: 'maxwrongauthfromip',
    config: { ...quiet, maxwrongauthfromip: 60, maxsubfailauthperiod: '1h' },
    threshold: 60,
    periodMs: HOUR,
    scope: 'ip',
    event: () => ({ kind: 'unauthorized', ip: ATTACKER, port: 5060, method: 'INVITE' }),
  },
  {
    rule: 'maxfailedauthenabledip',
    config: { ...quiet, maxfailedauthenabledip: 80, maxsubfailauthperiod: '30m' },
    threshold: 80,
    periodMs: 30 * MINUTE,
    scope: 'ip',
    // A new source port each time, so the IP:port rule never trips.
    event: (i) => ({ kind: 'auth-fail', ip: ATTACKER, port: 10_000 + i, user: 'alice' }),
  },
  {
    rule: 'maxfailedauthenabledipport',
    config: { ...quiet, maxsubfailauthperiod: '1h' },
    threshold: 50,
    periodMs: HOUR,
    scope: 'ip:port',
    event: () => ({ kind: 'auth-fail', ip: ATTACKER, port: 5060, user: 'alice' }),
  },
  {
    rule: 'fastauthsubswrongusermsg',
    config: { fastauthsubswrongusermsg: 25 },
    threshold: 25,
    periodMs: 90 * SECOND,
    scope: 'ip',
    event: () => ({ kind: 'unauthorized', ip: ATTACKER, port: 5060 }),
  },
  {
    rule: 'blockscanning_treshold',
    config: { blockscanning_treshold: 10, maxsubfailauthperiod: '1h' },
    threshold: 10,
    periodMs: HOUR,
    scope: 'ip',
    event: (i) => ({ kind: 'auth-challenge', ip: ATTACKER, port: 5060, user: `${100 + i}` }),
  },
  {
    rule: 'maxconnlimithits',
    config: { maxconnlimithits: 30, maxconnlimitperiod: '5m' },
    threshold: 30,
    periodMs: 5 * MINUTE,
    scope: 'ip',
    // Refusals, evictions and deadline closes all count, whatever the port.
    event: (i) => ({
      kind: (['connection-refused', 'connection-evicted', 'connection-timeout'] as const)[i % 3]!,
      ip: ATTACKER,
      port: 40_000 + i,
    }),
  },
];

function run(g: ReturnType<typeof setup>, c: RuleCase, from: number, n: number) {
  const actions: string[] = [];
  for (let i = from; i < from + n; i++) actions.push(g.guard.observe(c.event(i)).action);
  return actions;
}

for (const c of CASES) {
  test(`${c.rule}: just below the threshold passes, at the threshold bans once`, (t) => {
    const g = setup(t, c.config);
    t.deepEqual(new Set(run(g, c, 0, c.threshold - 1)), new Set(['pass']));
    t.is(g.bans.length + g.portBans.length, 0);
    const decision = g.guard.observe(c.event(c.threshold - 1));
    t.is(decision.action, 'ban');
    t.is(decision.rule, c.rule);
    t.is(decision.scope, c.scope);
    const calls = c.scope === 'ip' ? g.bans : g.portBans;
    t.is(calls.length, 1);
    const call = calls[0]!;
    t.is(call.ip, ATTACKER);
    t.is(call.ttlSeconds, 6 * 3600, 'reenabledosblocked default');
    t.is(call.evidence.rule, c.rule);
    t.is(call.evidence.count, c.threshold);
    t.is(call.evidence.threshold, c.threshold);
    t.is(call.evidence.windowSeconds, c.periodMs / 1000);
    t.regex(call.reason, new RegExp(`^${c.rule}: ${c.threshold} `));
    // The source is now dropped, and no second ban call is made.
    const after = run(g, c, c.threshold, 20);
    t.true(after.every((a) => a === 'drop'));
    t.is(g.bans.length + g.portBans.length, 1);
  });

  test(`${c.rule}: the count starts again after the window`, (t) => {
    const g = setup(t, c.config);
    run(g, c, 0, c.threshold - 1);
    g.clock.advance(c.periodMs);
    t.true(run(g, c, 0, c.threshold - 1).every((a) => a === 'pass'));
    t.is(g.bans.length + g.portBans.length, 0);
    // One ms before the end of a window still counts in it.
    g.clock.advance(c.periodMs - 1);
    t.is(g.guard.observe(c.event(c.threshold)).action, 'ban');
  });

  test(`${c.rule}: re-enabled after reenabledosblocked, with fresh counters`, (t) => {
    const g = setup(t, c.config);
    run(g, c, 0, c.threshold);
    t.is(g.bans.length + g.portBans.length, 1);
    g.clock.advance(6 * HOUR - 1);
    t.false(g.guard.allow(ATTACKER, c.event(0).port));
    g.clock.advance(1);
    t.true(g.guard.allow(ATTACKER, c.event(0).port));
    t.true(run(g, c, 1000, c.threshold - 1).every((a) => a === 'pass'));
    t.is(g.guard.observe(c.event(2000)).action, 'ban');
    t.is(g.bans.length + g.portBans.length, 2);
  });
}

test('a ban TTL follows reenabledosblocked', (t) => {
  const g = setup(t, { maxsubsmsgcount: 5, reenabledosblocked: '1h' });
  for (let i = 0; i < 5; i++) g.guard.observe({ kind: 'message', ip: ATTACKER, port: 1 });
  t.is(g.bans[0]!.ttlSeconds, 3600);
  t.is(g.bans[0]!.evidence.ttlSeconds, 3600);
  g.clock.advance(HOUR);
  t.true(g.guard.allow(ATTACKER, 1));
});

test('every counter is reset each reenabledosblocked even without a ban', (t) => {
  const g = setup(t, { maxsubsmsgcount: 100, maxsubsmsgperiod: '1d', reenabledosblocked: '1h' });
  const msg: GuardEvent = { kind: 'message', ip: ATTACKER, port: 5060 };
  g.send(99, msg);
  g.clock.advance(HOUR);
  g.send(99, msg);
  t.is(g.bans.length, 0, 'the periodic reset forgot the first 99');
  g.send(1, msg);
  t.is(g.bans.length, 1);
});

test('a live change of a threshold applies to the running window', (t) => {
  const g = setup(t, { maxsubsmsgcount: 1000 });
  const msg: GuardEvent = { kind: 'message', ip: ATTACKER, port: 5060 };
  g.send(50, msg);
  g.settings.set('maxsubsmsgcount', 20);
  t.is(
    g.guard.observe(msg).action,
    'ban',
    'already over the lowered threshold: the next one trips',
  );
  t.is(g.bans.length, 1);
});

test('maxsubsipauthrequest counts only subsequent requests: a success resets the run', (t) => {
  const g = setup(t, { maxsubsipauthrequest: 10, fastauthsubswrongusermsg: 0 });
  const challenge: GuardEvent = { kind: 'auth-challenge', ip: ATTACKER, port: 5060 };
  g.send(9, challenge);
  g.guard.observe({ kind: 'auth-ok', ip: ATTACKER, port: 5060, user: 'alice' });
  g.send(9, challenge);
  t.is(g.bans.length, 0);
  g.send(1, challenge);
  t.is(g.bans.length, 1);
});

test('maxsubsipauthrequest -1 is derived from load: 500 idle, 100 at full load', (t) => {
  const idle = setup(t, { fastauthsubswrongusermsg: 0 });
  const challenge: GuardEvent = { kind: 'auth-challenge', ip: ATTACKER, port: 5060 };
  idle.send(499, challenge);
  t.is(idle.bans.length, 0);
  idle.send(1, challenge);
  t.is(idle.bans[0]?.evidence.threshold, 500);

  const busy = setup(t, { fastauthsubswrongusermsg: 0 }, { load: () => 1 });
  busy.send(99, challenge);
  t.is(busy.bans.length, 0);
  busy.send(1, challenge);
  t.is(busy.bans[0]?.evidence.threshold, 100);
});

test('fastauthsubswrongusermsg x10 over all addresses lowers the per-address limit for 90 s', (t) => {
  const g = setup(t, { fastauthsubswrongusermsg: 20 });
  // 20 addresses × 10 unauthenticated messages = 200 = 10 × 20.
  for (let a = 0; a < 20; a++)
    g.send(10, { kind: 'unauthorized', ip: `192.0.2.${a + 1}`, port: 5060 });
  t.true(g.guard.underPressure());
  // The 200th message started the pressure; its sender was then at 10 = max(10, 20 / 10)
  // and was banned. The others had their 10 counted against the normal limit of 20.
  const before = g.bans.length;
  t.is(before, 1);
  t.is(g.bans[0]!.ip, '192.0.2.20');
  g.send(9, { kind: 'unauthorized', ip: '192.0.2.100', port: 5060 });
  t.is(g.bans.length, before);
  g.send(1, { kind: 'unauthorized', ip: '192.0.2.100', port: 5060 });
  t.is(g.bans.length, before + 1);
  t.is(g.bans.at(-1)!.evidence.threshold, 10);
  g.clock.advance(90 * SECOND);
  t.false(g.guard.underPressure());
  g.send(19, { kind: 'unauthorized', ip: '192.0.2.101', port: 5060 });
  t.is(g.bans.length, before + 1, 'back to the configured 20');
});

test('autofinetune false: many addresses together never lower the per-address limit', (t) => {
  const g = setup(t, { fastauthsubswrongusermsg: 20, autofinetune: false });
  // The same 200 messages from 20 addresses that lower the limit with autofinetune on.
  for (let a = 0; a < 20; a++)
    g.send(10, { kind: 'unauthorized', ip: `192.0.2.${a + 1}`, port: 5060 });
  t.false(g.guard.underPressure());
  t.is(g.bans.length, 0, 'nobody banned at 10: the budget stays 20');
  g.send(19, { kind: 'unauthorized', ip: '192.0.2.100', port: 5060 });
  t.is(g.bans.length, 0);
  g.send(1, { kind: 'unauthorized', ip: '192.0.2.100', port: 5060 });
  t.is(g.bans.length, 1);
  t.is(g.bans[0]!.evidence.threshold, 20, 'the configured limit, not a tenth of it');
  // Switched on at run time, the adaptation is back.
  g.settings.set('autofinetune', 'true');
  for (let a = 0; a < 20; a++)
    g.send(10, { kind: 'unauthorized', ip: `198.18.0.${a + 1}`, port: 5060 });
  t.true(g.guard.underPressure());
});
