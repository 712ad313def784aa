import { Writable } from 'node:stream';
import test from 'ava';
import { Settings } from '../../src/config/settings.ts';
import { BanService } from '../../src/control/bans.ts';
import { admitter, createGuard, reporter } from '../../src/control/guard-wiring.ts';
import { UserService } from '../../src/control/users.ts';
import { OffDataplane } from '../../src/dataplane/off.ts';
import { createLogger } from '../../src/log.ts';
import { InboundView } from '../../src/sip/inbound.ts';
import type { SipMessage } from '../../src/sip/message/index.ts';
import { parseMessage } from '../../src/sip/message/parser.ts';
import { SCHEMA_VERSION } from '../../src/store/migrations.ts';
import { Store } from '../../src/store/store.ts';
import { tempDir } from '../helpers/tmp.ts';
import { ATTACKER, OTHER, setup } from './guard/setup.ts';

test('maxcallperuserid limits the calls of the account with that id only', (t) => {
  const log = createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) });
  const store = Store.open(tempDir(t));
  t.teardown(() => store.close());
  const users = new UserService(store, new Settings(store, {}, log), log);
  users.add('alice', 'Wonder-land-42');
  users.add('bob', 'Build-it-77x');
  const bobId = users.get('bob').id;
  t.is(bobId, users.get('alice').id + 1, 'ids are handed out in order');

  const settings = new Settings(
    store,
    { maxcallperip: 1, maxcallperuserid: bobId, trustlanip: false },
    log,
  );
  const bans = new BanService(store, new OffDataplane('test'), log);
  const { guard } = createGuard(settings, bans, log);
  t.teardown(() => guard.close());
  const report = reporter(guard, log, (name) => users.idOf(name));
  const call = (user: string, ip: string) =>
    report({
      kind: 'call-start',
      ip,
      port: 5060,
      method: 'INVITE',
      user,
      callId: `${user}-${Math.random()}`,
    });

  // alice is not the account maxcallperuserid names: her calls are not limited.
  for (let i = 0; i < 3; i++) t.is(call('alice', '198.51.100.1').action, 'pass');
  // bob's second call from one address goes over maxcallperip.
  t.is(call('bob', '198.51.100.2').action, 'pass');
  t.not(call('bob', '198.51.100.2').action, 'pass');
});

test('the schema migration gives accounts of an older store their ids, in creation order', async (t) => {
  const dir = tempDir(t);
  const store = Store.open(dir);
  store.durable(() => {
    store.tables.users.put('zed', { name: 'zed', fields: {}, secrets: {}, createdAt: 5 } as never);
    store.tables.users.put('amy', { name: 'amy', fields: {}, secrets: {}, createdAt: 9 } as never);
    store.tables.meta.put('schemaVersion', 1);
    store.tables.meta.remove('nextUserId');
  });
  await store.close();
  const again = Store.open(dir);
  t.teardown(() => again.close());
  t.is(again.schemaVersion, SCHEMA_VERSION, 'every later migration ran too');
  t.is(again.tables.users.get('zed')!.id, 1);
  t.is(again.tables.users.get('amy')!.id, 2);
  t.is(again.tables.meta.get('nextUserId'), 3);
});

// ── admitter / reporter: what each message and report becomes for the guard ──────────────

function parsed(text: string): SipMessage {
  const r = parseMessage(Buffer.from(text.replaceAll('\n', '\r\n'), 'latin1'));
  if (!r.ok) throw new Error(r.detail);
  return r.message;
}

function registerFrom(user: string, callId: string, userAgent?: string): SipMessage {
  return parsed(
    `REGISTER sip:example.test SIP/2.0
Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-${callId}
From: <sip:${user}@example.test>;tag=1
To: <sip:${user}@example.test>
Call-ID: ${callId}
CSeq: 1 REGISTER
Max-Forwards: 70
${userAgent === undefined ? '' : `User-Agent: ${userAgent}\n`}Content-Length: 0

`,
  );
}

const udp = (ip: string, port = 5060) => ({ transport: 'udp' as const, ip, port });

/** The admitter fed as the SIP service feeds it: through the inbound view of a parsed message. */
function admitterOf(guard: Parameters<typeof admitter>[0]) {
  const admit = admitter(guard);
  const view = new InboundView();
  return (m: SipMessage, source: ReturnType<typeof udp>, _userAgent?: string) => {
    try {
      return admit(view.fill(m, source));
    } finally {
      view.done();
    }
  };
}

test('admitter: the ban evidence carries the message that opened the window and the last one', (t) => {
  const g = setup(t, { maxsubsmsgcount: 3 });
  const admit = admitterOf(g.guard);
  t.true(admit(registerFrom('alice', 'first-call'), udp(ATTACKER), undefined));
  t.true(admit(registerFrom('bob', 'second-call'), udp(ATTACKER), undefined));
  t.false(admit(registerFrom('carol', 'third-call', 'Probe/1'), udp(ATTACKER, 5070), 'Probe/1'));
  t.is(g.bans.length, 1);
  const evidence = g.bans[0]!.evidence;
  t.is(evidence.rule, 'maxsubsmsgcount');
  t.is(evidence.userAgent, 'Probe/1');
  t.is(evidence.last.method, 'REGISTER');
  t.regex(
    evidence.first?.sample ?? '',
    /^REGISTER sip:example\.test\nFrom: .*alice.*\nTo: .*\nCall-ID: first-call$/,
  );
  t.regex(evidence.last.sample ?? '', /Call-ID: third-call$/);
});

test('admitter: nothing of one message carries over to the next (User-Agent, Call-ID)', (t) => {
  const g = setup(t, { blockua: ['friendly-scanner'] });
  const admit = admitterOf(g.guard);
  t.false(admit(registerFrom('a', 'c1', 'friendly-scanner'), udp(ATTACKER), 'friendly-scanner'));
  // Another address, no User-Agent: the scanner's header must not be seen again.
  t.true(admit(registerFrom('a', 'c2'), udp(OTHER), undefined));
  t.is(g.bans.length, 1);
  t.is(g.guard.stats().sessions, 1, 'the refused message opened no session');
});

test('admitter: an OPTIONS naming users is a scan sign (method and user reach the guard)', (t) => {
  const g = setup(t, { blockscanning_treshold: 2 });
  const admit = admitterOf(g.guard);
  const options = (user: string) =>
    parsed(`OPTIONS sip:${user}@example.test SIP/2.0
Via: SIP/2.0/UDP 198.51.100.7:5060;branch=z9hG4bK-${user}
From: <sip:probe@example.test>;tag=1
To: <sip:${user}@example.test>
Call-ID: scan-${user}
CSeq: 1 OPTIONS
Max-Forwards: 70
Content-Length: 0

`);
  t.true(admit(options('100'), udp(ATTACKER), undefined));
  t.false(admit(options('101'), udp(ATTACKER), undefined));
  t.is(g.bans[0]!.evidence.rule, 'blockscanning_treshold');
  t.is(g.bans[0]!.evidence.user, '101');
  t.is(g.bans[0]!.evidence.last.method, 'OPTIONS');
});

test('admitter: Call-IDs are cut to 256 characters for the session table', (t) => {
  const g = setup(t);
  const admit = admitterOf(g.guard);
  const long = 'x'.repeat(300);
  admit(registerFrom('a', long), udp(OTHER), undefined);
  admit(registerFrom('a', `${'x'.repeat(256)}different-tail`), udp(OTHER), undefined);
  t.is(g.guard.stats().sessions, 1, 'both are the same session once cut');
});

test('reporter: distinct users of successive reports count for blockscanning_treshold', (t) => {
  const g = setup(t, { blockscanning_treshold: 3, fastauthsubswrongusermsg: 0 });
  const report = reporter(g.guard, g.log);
  const challenge = (user?: string) =>
    report({
      kind: 'auth-challenge',
      ip: ATTACKER,
      port: 5060,
      method: 'REGISTER',
      ...(user ? { user } : {}),
    });
  t.is(challenge('u1').action, 'pass');
  t.is(challenge().action, 'pass', 'no user: not a username tried');
  t.is(challenge('').action, 'pass', 'an empty user is none');
  t.is(challenge('u1').action, 'pass', 'the same user again');
  t.is(challenge('u2').action, 'pass');
  t.is(challenge('u3').action, 'ban');
  t.is(g.bans[0]!.evidence.count, 3);
});
