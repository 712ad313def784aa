// The rule table (rules.ts) and what the guard records when it does not ban (detections.ts):
// a trusted source's scanner User-Agent, a trusted source over a threshold, a detect-only
// mode, an allowua drop; bounded and fair per address.
import test from 'ava';
import { lookupKey } from '../../../src/config/validate.ts';
import { AddressRules } from '../../../src/control/guard/address-rules.ts';
import { GUARD_KEYS, readGuardConfig } from '../../../src/control/guard/config.ts';
import { DetectionLog } from '../../../src/control/guard/detections.ts';
import type { BanEvidence, GuardEvent } from '../../../src/control/guard/events.ts';
import { PASS } from '../../../src/control/guard/events.ts';
import { RULES, type Rule } from '../../../src/control/guard/rules.ts';
import { ATTACKER, OTHER, setup } from './setup.ts';

const LAN = '10.20.30.40';
const flood = (ip: string): GuardEvent => ({ kind: 'message', ip, port: 5060, method: 'OPTIONS' });

test('every rule names its keys, each a schema key the guard reads; names are unique', (t) => {
  const names = new Set<string>();
  for (const rule of RULES) {
    t.false(names.has(rule.rule), rule.rule);
    names.add(rule.rule);
    t.true(rule.keys.length > 0, rule.rule);
    for (const key of rule.keys) {
      t.truthy(lookupKey(key), `${rule.rule}: ${key} is in the schema`);
      t.true((GUARD_KEYS as readonly string[]).includes(key), `${rule.rule}: ${key} is read`);
    }
    t.true(rule.on.length > 0, rule.rule);
  }
});

test('a new counter rule is one row: counted per ip:port, it trips at its threshold', (t) => {
  const g = setup(t);
  const cfg = readGuardConfig(g.settings.view(GUARD_KEYS));
  const row: Rule = {
    rule: 'maxwrongmsgallowed',
    keys: ['maxwrongmsgallowed', 'maxwrongmsgperiod'],
    counter: 'wrong messages from the IP:port',
    engine: 'counter',
    per: 'ip:port',
    on: ['wrong'],
    window: () => 60_000,
    threshold: () => 3,
    action: 'ban-ip:port',
  };
  const rules = new AddressRules(cfg, 64, [row]);
  const env = { load: () => 0, fastLimit: (x: number) => x };
  const trips: string[] = [];
  const wrong = (port: number): GuardEvent => ({ kind: 'wrong', ip: ATTACKER, port });
  const run = (event: GuardEvent, now: number) =>
    rules.evaluate(event, now, 0, cfg, env, (e, _now, trip) => {
      trips.push(`${trip.rule} ${trip.scope} ${e.ip}:${e.port} ${trip.count}/${trip.threshold}`);
      return { action: 'ban', rule: trip.rule, scope: trip.scope };
    });
  t.is(run(wrong(5060), 1), PASS);
  t.is(run(wrong(5061), 2), PASS, 'another port counts apart');
  t.is(run(wrong(5060), 3), PASS);
  t.is(run(wrong(5060), 4).action, 'ban');
  t.deepEqual(trips, [`maxwrongmsgallowed ip:port ${ATTACKER}:5060 3/3`]);
  t.is(run({ kind: 'message', ip: ATTACKER, port: 5060 }, 5), PASS, 'other events do not count');
});

test('a scanner User-Agent from a trusted LAN address is refused and recorded, not banned', (t) => {
  const g = setup(t);
  const scan = { ...flood(LAN), userAgent: 'friendly-scanner' };
  t.is(g.guard.observe(scan).action, 'drop');
  g.clock.advance(1000);
  t.is(g.send(9, scan).action, 'drop');
  t.is(g.bans.length, 0);
  const [d, ...rest] = g.guard.detections();
  t.is(rest.length, 0, 'one record per address and rule');
  t.is(d!.ip, LAN);
  t.is(d!.rule, 'blockua');
  t.is(d!.outcome, 'not banned: trusted by trustlanip');
  t.is(d!.count, 10);
  t.is(d!.lastAt - d!.firstAt, 1000);
  t.regex(d!.evidence.reason, /friendly-scanner/);
  const logged = g.lines.filter((l) => String(l.msg).startsWith('attack detected'));
  t.is(logged.length, 1, 'logged once, counted after that');
  t.is(logged[0]!.rule, 'blockua');
});

test('a trusted source over a threshold is recorded, and does not lower everyone’s budget', (t) => {
  const g = setup(t, { maxsubsmsgcount: 10, fastauthsubswrongusermsg: 5 });
  g.send(50, flood(LAN));
  t.is(g.bans.length, 0);
  const d = g.guard.detections().find((r) => r.rule === 'maxsubsmsgcount');
  t.is(d?.outcome, 'not banned: trusted by trustlanip');
  t.is(d?.evidence.count, 10);
  // 50 × 10 challenges from trusted addresses: no pressure on untrusted ones.
  for (let i = 0; i < 60; i++)
    g.guard.observe({ kind: 'auth-challenge', ip: `10.0.0.${i + 1}`, port: 5060 });
  t.false(g.guard.underPressure());
  t.is(g.send(4, { kind: 'auth-challenge', ip: ATTACKER, port: 5060 }).action, 'pass');
});

test('detect-only modes and allowua drops are recorded with why', (t) => {
  const g = setup(t, { maxsubsmsgcount: 10, autoban: 0 });
  g.send(10, flood(ATTACKER));
  t.is(g.guard.detections()[0]?.outcome, 'not banned: autoban 0 only detects');
  const e = setup(t, { maxsubsmsgcount: 10, enablefirewall: 1 });
  e.send(10, flood(ATTACKER));
  t.is(e.guard.detections()[0]?.outcome, 'not banned: enablefirewall 1 only detects');

  const a = setup(t, { allowua: ['Yealink'] });
  t.is(a.send(3, { ...flood(OTHER), userAgent: 'curl/8' }).action, 'drop');
  const [d] = a.guard.detections();
  t.is(d?.rule, 'allowua');
  t.is(d?.outcome, 'dropped, not banned: User-Agent not on allowua');
  t.is(d?.count, 3);
});

test('a trusted caller over a per-IP call limit with autoban 2: refused, recorded, not banned', (t) => {
  const g = setup(t, { maxcallperip: 1, autoban: 2 });
  const call: GuardEvent = { kind: 'call-start', ip: LAN, port: 5060, user: 'alice' };
  t.is(g.guard.observe(call).action, 'pass');
  const d = g.guard.observe(call);
  t.is(d.action, 'drop');
  t.is(d.rule, 'maxcallperip');
  t.is(g.bans.length, 0);
  t.is(g.guard.detections()[0]?.outcome, 'not banned: trusted by trustlanip');
  // An untrusted one is banned.
  g.guard.observe({ ...call, ip: ATTACKER });
  t.is(g.guard.observe({ ...call, ip: ATTACKER }).action, 'ban');
});

test('the detection record is bounded and fair: a repeating address cannot push others out', (t) => {
  const log = new DetectionLog(undefined, 3);
  const evidence = (ip: string, rule = 'blockua') => ({ ip, rule, reason: rule }) as BanEvidence;
  log.add(evidence('192.0.2.1'), 'x', 1);
  log.add(evidence('192.0.2.2'), 'x', 2);
  for (let i = 0; i < 10_000; i++)
    if (!log.touch('192.0.2.3', 'blockua', 3 + i)) log.add(evidence('192.0.2.3'), 'x', 3 + i);
  t.deepEqual(
    log.list().map((r) => `${r.ip} ${r.count}`),
    ['192.0.2.3 10000', '192.0.2.2 1', '192.0.2.1 1'],
  );
  // A fourth address replaces the one seen longest ago, and says so.
  log.add(evidence('192.0.2.4'), 'x', 20_000);
  t.deepEqual(
    log.list().map((r) => r.ip),
    ['192.0.2.4', '192.0.2.3', '192.0.2.2'],
  );
  t.is(log.forgotten, 1);
  // One address, several rules: one record each.
  log.add(evidence('192.0.2.4', 'maxsubsmsgcount'), 'x', 20_001);
  t.is(log.size, 3);
  t.is(log.list().filter((r) => r.ip === '192.0.2.4').length, 2);
});
