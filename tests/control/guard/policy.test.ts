// Trust exemptions, detect-only modes, User-Agent lists, behaviour-based scanner detection,
// the NAT IP:port rule, evidence and exactly-once ban calls.
import test from 'ava';
import type { GuardEvent } from '../../../src/control/guard/guard.ts';
import { ATTACKER, HOUR, OTHER, setup } from './setup.ts';

const flood = (ip: string): GuardEvent => ({ kind: 'message', ip, port: 5060, method: 'OPTIONS' });

// ── Trust ────────────────────────────────────────────────────────────────────────────────

test('LAN sources are trusted by default (trustlanip) and never banned', (t) => {
  const g = setup(t, { maxsubsmsgcount: 10 });
  for (const ip of ['10.1.2.3', '192.168.1.10', '172.16.5.5', 'fd00::1']) {
    g.send(100, flood(ip));
    t.is(g.guard.trustReason(ip), 'trustlanip');
  }
  t.is(g.bans.length, 0);
  g.send(10, flood(ATTACKER));
  t.is(g.bans.length, 1, 'a public source is still banned');
});

test('trustlanip off, or allowtrustedip 0, makes LAN sources bannable', (t) => {
  const off = setup(t, { maxsubsmsgcount: 10, trustlanip: false });
  off.send(10, flood('10.1.2.3'));
  t.is(off.bans.length, 1);
  const none = setup(t, { maxsubsmsgcount: 10, allowtrustedip: 0 });
  none.send(10, flood('10.1.2.3'));
  t.is(none.bans.length, 1);
});

test('loopback is never banned, whatever allowtrustedip says', (t) => {
  const g = setup(t, { maxsubsmsgcount: 10, allowtrustedip: 0 });
  g.send(100, flood('127.0.0.1'));
  g.send(100, flood('::1'));
  t.is(g.bans.length, 0);
});

test('trustedip CIDRs are trusted; allowtrustedip 2 honours only private ones; 1 only my ip', (t) => {
  const yes = setup(t, { maxsubsmsgcount: 10, trustedip: ['198.51.100.0/24', '2001:db8::/32'] });
  yes.send(50, flood(ATTACKER));
  yes.send(50, flood('2001:db8::5'));
  t.is(yes.bans.length, 0);
  t.is(yes.guard.trustReason(ATTACKER), 'trustedip');
  yes.send(10, flood('2001:db9::5'));
  t.is(yes.bans.length, 1, 'outside the CIDR');

  const privateOnly = setup(t, {
    maxsubsmsgcount: 10,
    allowtrustedip: 2,
    trustedip: ['198.51.100.0/24'],
  });
  privateOnly.send(10, flood(ATTACKER));
  t.is(privateOnly.bans.length, 1, 'a public trustedip is not honoured at level 2');
  t.is(privateOnly.guard.trustReason('10.0.0.1'), 'trustlanip');

  const myIp = setup(t, { maxsubsmsgcount: 10, allowtrustedip: 1, sipaddress: '192.0.2.1' });
  t.is(myIp.guard.trustReason('192.0.2.1'), 'own-address');
  t.is(myIp.guard.trustReason('10.0.0.1'), undefined, 'LAN trust is not honoured at level 1');
});

test('trustauthip trusts an address after a successful authentication', (t) => {
  const g = setup(t, { maxsubsmsgcount: 10, trustauthip: true });
  g.guard.observe({ kind: 'auth-ok', ip: ATTACKER, port: 5060, user: 'alice', method: 'INVITE' });
  t.is(g.guard.trustReason(ATTACKER), 'trustauthip');
  g.send(100, flood(ATTACKER));
  t.is(g.bans.length, 0);
  // Dynamic trust lasts reenabledosblocked.
  g.clock.advance(6 * HOUR);
  t.is(g.guard.trustReason(ATTACKER), undefined);
});

test('trustauthip is off by default: authenticating does not exempt an address', (t) => {
  const g = setup(t, { maxsubsmsgcount: 10 });
  g.guard.observe({ kind: 'auth-ok', ip: ATTACKER, port: 5060, user: 'alice', method: 'REGISTER' });
  g.send(10, flood(ATTACKER));
  t.is(g.bans.length, 1);
});

test('treatusersasknownip trusts the address of a REGISTER only', (t) => {
  const g = setup(t, { treatusersasknownip: true });
  g.guard.observe({ kind: 'auth-ok', ip: ATTACKER, port: 5060, user: 'a', method: 'INVITE' });
  t.is(g.guard.trustReason(ATTACKER), undefined);
  g.guard.observe({ kind: 'auth-ok', ip: ATTACKER, port: 5060, user: 'a', method: 'REGISTER' });
  t.is(g.guard.trustReason(ATTACKER), 'treatusersasknownip');
});

test('trustsubnet extends trust to the /24 (IPv4) and /64 (IPv6)', (t) => {
  const g = setup(t, {
    trustsubnet: true,
    trustauthip: true,
    trustedip: ['203.0.113.5', '2001:db8:1:2::7'],
  });
  t.is(g.guard.trustReason('203.0.113.200'), 'trustedip');
  t.is(g.guard.trustReason('2001:db8:1:2::ffff'), 'trustedip');
  t.is(g.guard.trustReason('2001:db8:1:3::1'), undefined);
  g.guard.observe({ kind: 'auth-ok', ip: ATTACKER, port: 5060, user: 'a' });
  t.is(g.guard.trustReason('198.51.100.99'), 'trustauthip');
  t.is(g.guard.trustReason('198.51.101.99'), undefined);
  const narrow = setup(t, { trustedip: ['203.0.113.5'] });
  t.is(narrow.guard.trustReason('203.0.113.200'), undefined, 'without trustsubnet: the host only');
});

// ── Modes ────────────────────────────────────────────────────────────────────────────────

test('autoban 0 detects and logs but never bans', (t) => {
  const g = setup(t, { maxsubsmsgcount: 10, autoban: 0 });
  g.send(9, flood(ATTACKER));
  const d = g.guard.observe(flood(ATTACKER));
  t.is(d.action, 'pass');
  t.is(d.rule, 'maxsubsmsgcount');
  t.is(d.detected?.count, 10);
  t.is(g.send(100, flood(ATTACKER)).action, 'pass');
  t.is(g.bans.length, 0);
  t.true(g.guard.allow(ATTACKER, 5060));
  const logged = g.lines.filter((l) => String(l.msg).startsWith('attack detected'));
  t.is(logged.length, 1, 'logged once per window, not per message');
  t.is(logged[0]!.ip, ATTACKER);
  t.is(logged[0]!.rule, 'maxsubsmsgcount');
});

test('enablefirewall 1 (static rules only) also only detects', (t) => {
  const g = setup(t, { maxsubsmsgcount: 10, enablefirewall: 1 });
  const d = g.send(10, flood(ATTACKER));
  t.is(d.action, 'pass');
  t.truthy(d.detected);
  t.is(g.bans.length, 0);
});

test('enablefirewall 0 counts nothing and passes everything, scanners included', (t) => {
  const g = setup(t, { maxsubsmsgcount: 10, enablefirewall: 0 });
  g.send(1000, { ...flood(ATTACKER), userAgent: 'friendly-scanner' });
  t.is(g.bans.length, 0);
  t.is(g.guard.stats().keys, 0);
});

test('a live switch to autoban 0 stops banning immediately', (t) => {
  const g = setup(t, { maxsubsmsgcount: 10 });
  g.settings.set('autoban', 0);
  g.send(10, flood(ATTACKER));
  t.is(g.bans.length, 0);
  g.settings.set('autoban', 2);
  g.send(10, flood(OTHER));
  t.is(g.bans.length, 1);
});

// ── User agents ──────────────────────────────────────────────────────────────────────────

test('blockua: the shipped scanner list bans on the first message, case-insensitively', (t) => {
  const g = setup(t);
  for (const [i, ua] of [
    'friendly-scanner',
    'SIPVicious 0.3.4',
    'sipcli/v1.8',
    'VaxSIPUserAgent/3.1',
  ].entries()) {
    const ip = `198.51.100.${i + 1}`;
    const d = g.guard.observe({ ...flood(ip), userAgent: ua });
    t.is(d.action, 'ban', ua);
    t.is(d.rule, 'blockua');
  }
  t.is(g.bans.length, 4);
  t.regex(g.bans[1]!.reason, /blockua: User-Agent "SIPVicious 0.3.4" matches "sipvicious"/);
  t.is(g.guard.observe({ ...flood(OTHER), userAgent: 'Linphone/5.2' }).action, 'pass');
  t.is(
    g.guard.observe({ ...flood(OTHER), userAgent: 'sipsak 0.9.8' }).action,
    'pass',
    'a test tool, not a scanner',
  );
});

test('blockua: an operator list replaces the default; an empty list blocks nothing', (t) => {
  const custom = setup(t, { blockua: ['BadBot'] });
  t.is(custom.guard.observe({ ...flood(ATTACKER), userAgent: 'xx badbot yy' }).action, 'ban');
  t.is(custom.guard.observe({ ...flood(OTHER), userAgent: 'friendly-scanner' }).action, 'pass');
  const none = setup(t, { blockua: [] });
  t.is(none.guard.observe({ ...flood(ATTACKER), userAgent: 'friendly-scanner' }).action, 'pass');
});

test('blockua from a trusted source drops the message but never bans', (t) => {
  const g = setup(t);
  const d = g.guard.observe({ ...flood('10.0.0.9'), userAgent: 'friendly-scanner' });
  t.is(d.action, 'drop');
  t.is(d.rule, 'blockua');
  t.is(g.bans.length, 0);
});

test('allowua: only matching User-Agents pass; others and missing ones are dropped, not banned', (t) => {
  const g = setup(t, { allowua: ['MyPhone', 'tollgate'] });
  t.is(g.guard.observe({ ...flood(OTHER), userAgent: 'myphone/2.1 (android)' }).action, 'pass');
  t.is(g.guard.observe({ ...flood(OTHER), userAgent: 'Tollgate trunk' }).action, 'pass');
  t.is(g.guard.observe({ ...flood(OTHER), userAgent: 'Zoiper 5' }).action, 'drop');
  t.is(g.guard.observe(flood(OTHER)).action, 'drop', 'no User-Agent at all');
  t.is(g.guard.observe({ ...flood(OTHER), userAgent: 'Zoiper 5' }).rule, 'allowua');
  t.is(g.bans.length, 0);
  // blockua still wins for a scanner that also matches allowua.
  t.is(
    g.guard.observe({ ...flood(ATTACKER), userAgent: 'MyPhone friendly-scanner' }).action,
    'ban',
  );
});

// ── Behaviour: scanners that change their User-Agent ─────────────────────────────────────

test('an extension sweep (svwar) with a new User-Agent each time is banned by behaviour', (t) => {
  const g = setup(t);
  let last = g.guard.observe({ kind: 'message', ip: ATTACKER, port: 5060 });
  for (let ext = 100; ext < 110; ext++) {
    const ua = `Softphone ${ext}.${ext * 7}`;
    g.guard.observe({
      kind: 'message',
      ip: ATTACKER,
      port: 5060,
      method: 'REGISTER',
      userAgent: ua,
    });
    last = g.guard.observe({
      kind: 'auth-challenge',
      ip: ATTACKER,
      port: 5060,
      user: `${ext}`,
      userAgent: ua,
    });
  }
  t.is(last.action, 'ban');
  t.is(last.rule, 'blockscanning_treshold');
  t.is(g.bans.length, 1);
  t.is(g.bans[0]!.evidence.count, 10);
});

test('an OPTIONS sweep over user names is a scan', (t) => {
  const g = setup(t, { blockscanning_treshold: 5 });
  let last = g.guard.observe(flood(ATTACKER));
  for (let ext = 0; ext < 5; ext++)
    last = g.guard.observe({ ...flood(ATTACKER), user: `ext${ext}`, userAgent: `UA-${ext}` });
  t.is(last.rule, 'blockscanning_treshold');
  t.is(g.bans.length, 1);
});

test('the same user tried again is not a new scan sign', (t) => {
  const g = setup(t, { blockscanning_treshold: 3 });
  g.send(50, { kind: 'auth-challenge', ip: ATTACKER, port: 5060, user: 'alice' });
  t.is(g.bans.length, 0);
});

test('an office of 30 phones behind one NAT address registering at once is not a scan', (t) => {
  const g = setup(t, { trustlanip: false });
  const office = '192.0.2.50';
  for (let p = 0; p < 30; p++) {
    const port = 5060 + p;
    g.guard.observe({ kind: 'message', ip: office, port, method: 'REGISTER' });
    g.guard.observe({ kind: 'auth-challenge', ip: office, port, user: `phone${p}` });
    g.guard.observe({ kind: 'message', ip: office, port, method: 'REGISTER' });
    g.guard.observe({ kind: 'auth-ok', ip: office, port, user: `phone${p}`, method: 'REGISTER' });
  }
  t.is(g.bans.length, 0);
});

test('blockscanning_treshold 0 turns behaviour-based scan detection off', (t) => {
  const g = setup(t, { blockscanning_treshold: 0 });
  for (let ext = 0; ext < 100; ext++)
    g.guard.observe({ kind: 'auth-challenge', ip: ATTACKER, port: 5060, user: `${ext}` });
  t.is(g.bans.length, 0);
});

// ── NAT: IP:port before IP ───────────────────────────────────────────────────────────────

test('NAT: a guessing device is cut at IP:port; a second device behind the same address keeps working until the IP limit', (t) => {
  const g = setup(t, { fastauthsubswrongusermsg: 0, maxsubsipauthrequest: 0 });
  const nat = '192.0.2.77';
  const guess = (port: number): GuardEvent => ({ kind: 'auth-fail', ip: nat, port, user: 'alice' });
  const phone: GuardEvent = { kind: 'message', ip: nat, port: 5070, method: 'REGISTER' };

  g.send(49, guess(5060));
  t.is(g.guard.observe(guess(5060)).action, 'ban');
  t.is(g.portBans.length, 1);
  t.deepEqual([g.portBans[0]!.ip, g.portBans[0]!.port], [nat, 5060]);
  t.is(g.bans.length, 0, 'the kernel ban of the whole address is not used for IP:port');
  t.false(g.guard.allow(nat, 5060));
  t.is(g.guard.observe(guess(5060)).action, 'drop', 'dropped in userspace');
  t.is(g.guard.observe(phone).action, 'pass', 'the other device is served');
  t.true(g.guard.allow(nat, 5070));

  // The guesser moves from port to port: 800 failures from the address ban all of it.
  let port = 20_000;
  while (g.bans.length === 0 && port < 21_000) {
    g.send(49, guess(port));
    port++;
  }
  t.is(g.bans.length, 1);
  t.is(g.bans[0]!.evidence.rule, 'maxfailedauthenabledip');
  t.is(g.bans[0]!.evidence.count, 800);
  t.is(g.guard.observe(phone).action, 'drop', 'now the whole address is banned');
});

test('an IP:port ban expires after reenabledosblocked', (t) => {
  const g = setup(t, { fastauthsubswrongusermsg: 0, maxsubsipauthrequest: 0 });
  g.send(50, { kind: 'auth-fail', ip: ATTACKER, port: 5060, user: 'x' });
  t.false(g.guard.allow(ATTACKER, 5060));
  g.clock.advance(6 * HOUR);
  t.true(g.guard.allow(ATTACKER, 5060));
  t.is(g.guard.observe({ kind: 'message', ip: ATTACKER, port: 5060 }).action, 'pass');
});

// ── Exactly once, sink failures, forget ─────────────────────────────────────────────────

test('several thresholds tripping on one event still make one ban call', (t) => {
  // maxfailedauthenabledip, maxwrongauthfromip and maxsubsipauthrequest all at 5.
  const g = setup(t, {
    maxfailedauthenabledip: 5,
    maxwrongauthfromip: 5,
    maxsubsipauthrequest: 5,
    maxfailedauthenabledipport: 5,
    fastauthsubswrongusermsg: 0,
  });
  g.send(5, { kind: 'auth-fail', ip: ATTACKER, port: 5060, user: 'a' });
  t.is(g.bans.length, 1);
  t.is(g.bans[0]!.evidence.rule, 'maxfailedauthenabledip');
  t.is(g.portBans.length, 1, 'the IP:port rule reports its own ban');
  g.send(100, { kind: 'auth-fail', ip: ATTACKER, port: 5061, user: 'a' });
  t.is(g.bans.length, 1);
});

test('a failing ban sink is logged with its code and the source is still dropped', async (t) => {
  const rejecting = setup(
    t,
    { maxsubsmsgcount: 3 },
    {
      ban: () => Promise.reject(new Error('disk full')),
    },
  );
  rejecting.send(3, flood(ATTACKER));
  t.is(rejecting.guard.observe(flood(ATTACKER)).action, 'drop');
  await new Promise((r) => setImmediate(r));
  const line = rejecting.lines.find(
    (l) => (l.err as { code?: string })?.code === 'TG_GUARD_BAN_FAILED',
  );
  t.truthy(line);
  t.regex(String(line!.msg), /disk full/);

  const throwing = setup(
    t,
    { maxsubsmsgcount: 3 },
    {
      ban: () => {
        throw new Error('boom');
      },
    },
  );
  t.notThrows(() => throwing.send(3, flood(ATTACKER)));
  t.is(throwing.guard.observe(flood(ATTACKER)).action, 'drop');
});

test("forget (delbanned) lifts the guard's own ban and counters for one address or all", (t) => {
  const g = setup(t, { maxsubsmsgcount: 5 });
  g.send(5, flood(ATTACKER));
  g.send(5, flood(OTHER));
  g.send(50, { kind: 'auth-fail', ip: '192.0.2.9', port: 7000, user: 'x' });
  t.is(g.bans.length, 2);
  t.is(g.portBans.length, 1);
  g.guard.forget(ATTACKER);
  t.true(g.guard.allow(ATTACKER, 5060));
  t.false(g.guard.allow(OTHER, 5060));
  t.is(g.send(4, flood(ATTACKER)).action, 'pass', 'counters start from zero');
  g.guard.forget('all');
  t.true(g.guard.allow(OTHER, 5060));
  t.true(g.guard.allow('192.0.2.9', 7000));
});

// ── Evidence ─────────────────────────────────────────────────────────────────────────────

test('evidence names the counter, window, first and last message, redacted', (t) => {
  const g = setup(t, {
    fastauthsubswrongusermsg: 0,
    maxsubsipauthrequest: 0,
    maxfailedauthenabledipport: 3,
  });
  const start = g.clock.now;
  const sample = (n: number) =>
    `REGISTER sip:example.com SIP/2.0\r\nCall-ID: c${n}\r\n` +
    `Authorization: Digest username="alice", realm="example.com", nonce="abc${n}def", ` +
    `uri="sip:example.com", response="0123456789abcdef0123456789abcdef", cnonce="xyz", nc=00000001\r\n` +
    `User-Agent: friendly\r\n\r\npassword=hunter2`;
  for (let n = 1; n <= 3; n++) {
    g.guard.observe({
      kind: 'auth-fail',
      ip: ATTACKER,
      port: 5060,
      user: 'alice',
      method: 'REGISTER',
      sample: sample(n),
    });
    g.clock.advance(1000);
  }
  const ev = g.portBans[0]!.evidence;
  t.is(ev.rule, 'maxfailedauthenabledipport');
  t.is(ev.counter, 'failed authentications from the IP:port');
  t.is(ev.scope, 'ip:port');
  t.is(ev.port, 5060);
  t.is(ev.count, 3);
  t.is(ev.threshold, 3);
  t.is(ev.windowSeconds, 3600);
  t.is(ev.windowStart, start);
  t.is(ev.startedAt, start + 2000);
  t.is(ev.first?.at, start);
  t.is(ev.last.method, 'REGISTER');
  t.regex(ev.first!.sample!, /Call-ID: c1/);
  t.regex(ev.last.sample!, /Call-ID: c3/);
  for (const text of [ev.first!.sample!, ev.last.sample!]) {
    t.notRegex(text, /0123456789abcdef/);
    t.notRegex(text, /abc\d def/);
    t.notRegex(text, /hunter2/);
    t.regex(text, /response="\[redacted\]"/);
    t.regex(text, /nonce="\[redacted\]"/);
    t.regex(text, /username="alice"/, 'what identifies the attempt stays');
  }
  t.regex(
    g.portBans[0]!.reason,
    /maxfailedauthenabledipport: 3 failed authentications from the IP:port within 3600 s \(threshold 3\)/,
  );
});

test('the evidence sample is bounded even for a huge message', (t) => {
  const g = setup(t, { maxsubsmsgcount: 2 });
  const huge = `INVITE sip:x SIP/2.0\r\n${'X-Pad: y\r\n'.repeat(10_000)}`;
  g.send(2, { ...flood(ATTACKER), sample: huge });
  const ev = g.bans[0]!.evidence;
  t.true(ev.first!.sample!.length <= 512);
  t.true(ev.last.sample!.length <= 512);
});

test('bans made elsewhere (store at start, manual) are adopted and enforced in userspace', (t) => {
  const g = setup(t);
  const now = g.clock.now;
  t.is(
    g.guard.adoptBans([
      { ip: ATTACKER, expiresAt: now + HOUR },
      { ip: OTHER, expiresAt: 0 },
    ]),
    2,
  );
  t.is(g.guard.observe(flood(ATTACKER)).action, 'drop');
  g.clock.advance(HOUR);
  t.is(g.guard.observe(flood(ATTACKER)).action, 'pass');
  g.clock.advance(365 * 24 * HOUR);
  t.false(g.guard.allow(OTHER, 5060), 'until lifted');
  g.guard.forget(OTHER);
  t.true(g.guard.allow(OTHER, 5060));
  t.is(g.bans.length, 0, 'adopting does not call the ban sink again');
});

test('autoban 0: a blockua scanner is refused and logged once, never banned', (t) => {
  const g = setup(t, { autoban: 0 });
  const scan = { ...flood(ATTACKER), userAgent: 'friendly-scanner' };
  const first = g.guard.observe(scan);
  t.is(first.action, 'drop');
  t.is(first.detected?.rule, 'blockua');
  t.is(g.send(50, scan).action, 'drop');
  t.is(g.bans.length, 0);
  t.is(g.lines.filter((l) => String(l.msg).startsWith('attack detected')).length, 1);
});

test('a live change of trustedip applies at once', (t) => {
  const g = setup(t, { maxsubsmsgcount: 10 });
  g.send(9, flood(ATTACKER));
  g.settings.set('trustedip', '198.51.100.0/24');
  t.is(g.guard.trustReason(ATTACKER), 'trustedip');
  g.send(100, flood(ATTACKER));
  t.is(g.bans.length, 0);
});
