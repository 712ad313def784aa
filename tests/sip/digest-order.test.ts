// useshadigestauh as an operator means it: the order of the challenges lets every phone pick
// what it can do (SHA-256 first; MD5 alone for clients that fail on any SHA challenge),
// and each account's last algorithm is recorded for audit (users.md5Accounts()).
// The real phones (baresip, linphonec) are driven in tests/sip/phones-register.test.ts.
import { Writable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import { Settings } from '../../src/config/settings.ts';
import { UserService } from '../../src/control/users.ts';
import { createLogger } from '../../src/log.ts';
import { GIVE_UP_MS, MD5_ONLY_MS, ORDER_MEMORY } from '../../src/sip/auth/algorithm-order.ts';
import { DigestAuthenticator } from '../../src/sip/auth/authenticator.ts';
import { NonceManager } from '../../src/sip/auth/nonce.ts';
import { parseMessage, type SipRequest, type SipResponse } from '../../src/sip/message/index.ts';
import { BindingStore } from '../../src/sip/registrar/bindings.ts';
import { Registrar } from '../../src/sip/registrar/registrar.ts';
import { Store } from '../../src/store/store.ts';
import { authorization, challenges, register } from '../helpers/sip-client.ts';
import { tempDir } from '../helpers/tmp.ts';

const ALICE = { user: 'alice', password: 'Wonder-land-42' };
const BOB = { user: 'bob', password: 'Builder-of-7-houses' };
const BARESIP = 'baresip v1.0.0 (x86_64/linux)';
const LINPHONE = 'Linphone/5.1.65 (belle-sip/5.1.64)';

function setup(t: ExecutionContext, config: Record<string, unknown> = { useshadigestauh: 1 }) {
  const log = createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) });
  const store = Store.open(tempDir(t));
  t.teardown(() => store.close());
  const settings = new Settings(store, config, log);
  const users = new UserService(store, settings, log);
  users.add(ALICE.user, ALICE.password);
  users.add(BOB.user, BOB.password);
  let now = 1_800_000_000_000;
  const clock = { now: () => now, advance: (ms: number) => (now += ms) };
  const nonces = new NonceManager({ key: Buffer.alloc(32, 7), now: clock.now });
  const auth = new DigestAuthenticator(users, nonces, settings, clock.now);
  const bindings = new BindingStore(store, clock.now);
  const registrar = new Registrar({
    bindings,
    auth,
    settings,
    trust: { trust: async () => {} },
    log,
    report: () => undefined,
    now: clock.now,
  });
  let cseq = 1;
  const send = (
    creds: typeof ALICE,
    userAgent: string,
    answer?: { algorithm: string; to: SipResponse },
    ip = '10.0.0.5',
  ): SipResponse => {
    let authHeader: string | undefined;
    if (answer) {
      const offered = challenges(answer.to.headerValues('www-authenticate'));
      const c = offered.find((x) => x.algorithm === answer.algorithm);
      if (!c) throw new Error(`${answer.algorithm} was not offered`);
      authHeader = authorization(c, creds, { method: 'REGISTER', uri: 'sip:tollgate' });
    }
    const text = register({
      user: creds.user,
      cseq: cseq++,
      callId: `reg-${creds.user}`,
      ...(authHeader ? { authorization: authHeader } : {}),
    }).replace('User-Agent: tollgate-test-phone', `User-Agent: ${userAgent}`);
    const parsed = parseMessage(Buffer.from(text), { transport: 'datagram' });
    if (!parsed.ok) throw new Error(parsed.detail);
    return registrar.handle(parsed.message as SipRequest, { transport: 'udp', ip, port: 5062 });
  };
  const order = (res: SipResponse) =>
    challenges(res.headerValues('www-authenticate')).map((c) => c.algorithm);
  return { users, settings, send, order, clock };
}

test('useshadigestauh=1: SHA-256 first, then SHA-512-256, then MD5; a phone with SHA-256 uses it', (t) => {
  const { send, order, users } = setup(t);
  const challenge = send(ALICE, LINPHONE);
  t.deepEqual(order(challenge), ['SHA-256', 'SHA-512-256', 'MD5']);
  t.is(send(ALICE, LINPHONE, { algorithm: 'SHA-256', to: challenge }).status, 200);
  t.like(users.get('alice').digest, { algorithm: 'SHA-256' });
  t.deepEqual(users.md5Accounts(), []);
});

test('a client known to fail on any SHA challenge (baresip 1.0) is offered MD5 alone and registers', (t) => {
  const { send, order, users } = setup(t);
  const challenge = send(BOB, BARESIP);
  t.deepEqual(order(challenge), ['MD5']);
  t.is(send(BOB, BARESIP, { algorithm: 'MD5', to: challenge }).status, 200);
  t.deepEqual(
    users.md5Accounts().map((a) => a.name),
    ['bob'],
    'audit sees the account on MD5',
  );
  // A later baresip release is not assumed to share the quirk.
  t.deepEqual(order(send(BOB, 'baresip v3.10.1 (x86_64/linux)')), [
    'SHA-256',
    'SHA-512-256',
    'MD5',
  ]);
});

test('an unknown phone that leaves a SHA-first challenge unanswered is offered MD5 alone when it comes back', (t) => {
  const { send, order, clock, users } = setup(t);
  const ua = 'OldPhone/1.0';
  t.deepEqual(order(send(ALICE, ua)), ['SHA-256', 'SHA-512-256', 'MD5']);
  // Gives up; retries later (what baresip does, 30 s or more after a failure).
  clock.advance(GIVE_UP_MS + 30_000);
  const second = send(ALICE, ua);
  t.deepEqual(order(second), ['MD5']);
  t.is(send(ALICE, ua, { algorithm: 'MD5', to: second }).status, 200);
  clock.advance(3_600_000);
  t.deepEqual(order(send(ALICE, ua)), ['MD5'], 'kept for its refreshes');
  t.like(users.get('alice').digest, { algorithm: 'MD5' });
  // Another address for the same account, and another account, are not affected.
  t.deepEqual(order(send(ALICE, ua, undefined, '10.0.0.6')), ['SHA-256', 'SHA-512-256', 'MD5']);
  t.deepEqual(order(send(BOB, ua)), ['SHA-256', 'SHA-512-256', 'MD5']);
});

test('a phone answering its challenge at once keeps SHA first; a fall-back to MD5 is retried after a day', (t) => {
  const { send, order, clock } = setup(t);
  for (let round = 0; round < 3; round++) {
    const challenge = send(ALICE, LINPHONE);
    t.deepEqual(order(challenge), ['SHA-256', 'SHA-512-256', 'MD5']);
    t.is(send(ALICE, LINPHONE, { algorithm: 'SHA-256', to: challenge }).status, 200);
    clock.advance(600_000);
  }
  // Two requests challenged close together (a phone registering and subscribing) are not a
  // phone giving up.
  send(ALICE, LINPHONE);
  t.deepEqual(order(send(ALICE, LINPHONE)), ['SHA-256', 'SHA-512-256', 'MD5']);
  // A fall-back to MD5 (from an unanswered challenge) lasts a day, then SHA is tried again
  // (the phone may have been upgraded).
  clock.advance(GIVE_UP_MS);
  const fallen = send(ALICE, LINPHONE);
  t.deepEqual(order(fallen), ['MD5']);
  t.is(send(ALICE, LINPHONE, { algorithm: 'MD5', to: fallen }).status, 200);
  clock.advance(MD5_ONLY_MS);
  const retried = send(ALICE, LINPHONE);
  t.deepEqual(order(retried), ['SHA-256', 'SHA-512-256', 'MD5']);
  t.is(send(ALICE, LINPHONE, { algorithm: 'SHA-256', to: retried }).status, 200);
  t.deepEqual(order(send(ALICE, LINPHONE)), ['SHA-256', 'SHA-512-256', 'MD5']);
});

test('useshadigestauh=2 never offers or accepts MD5, even to a client that needs it; 0 offers MD5 alone', (t) => {
  const strict = setup(t, { useshadigestauh: 2 });
  t.deepEqual(strict.order(strict.send(BOB, BARESIP)), ['SHA-256', 'SHA-512-256']);
  strict.clock.advance(GIVE_UP_MS + 1);
  t.deepEqual(strict.order(strict.send(BOB, BARESIP)), ['SHA-256', 'SHA-512-256']);
  const md5 = setup(t, { useshadigestauh: 0 });
  const challenge = md5.send(ALICE, LINPHONE);
  t.deepEqual(md5.order(challenge), ['MD5']);
  t.is(md5.send(ALICE, LINPHONE, { algorithm: 'MD5', to: challenge }).status, 200);
});

test('the algorithm is recorded when it changes, and the MD5 list follows it', (t) => {
  const { send, users, settings } = setup(t);
  settings.set('useshadigestauh', 0);
  const first = send(ALICE, LINPHONE);
  t.is(send(ALICE, LINPHONE, { algorithm: 'MD5', to: first }).status, 200);
  const since = users.get('alice').digest?.since;
  t.deepEqual(
    users.md5Accounts().map((a) => a.name),
    ['alice'],
  );
  settings.set('useshadigestauh', 1);
  const second = send(ALICE, LINPHONE);
  t.is(send(ALICE, LINPHONE, { algorithm: 'SHA-256', to: second }).status, 200);
  t.deepEqual(users.md5Accounts(), []);
  t.like(users.get('alice').digest, { algorithm: 'SHA-256' });
  t.not(since, undefined);
  // A deleted account is not listed.
  settings.set('useshadigestauh', 0);
  const third = send(BOB, LINPHONE);
  t.is(send(BOB, LINPHONE, { algorithm: 'MD5', to: third }).status, 200);
  users.del('bob');
  t.deepEqual(users.md5Accounts(), []);
});

test('the per-address memory is bounded', (t) => {
  const { send, clock } = setup(t);
  for (let i = 0; i < ORDER_MEMORY + 50; i++) {
    send(ALICE, 'OldPhone/1.0', undefined, `10.1.${i >> 8}.${i & 255}`);
  }
  clock.advance(GIVE_UP_MS);
  // The first addresses were forgotten: they get SHA first again rather than MD5 alone.
  const { order } = { order: (r: SipResponse) => challenges(r.headerValues('www-authenticate')) };
  t.is(order(send(ALICE, 'OldPhone/1.0', undefined, '10.1.0.0'))[0]!.algorithm, 'SHA-256');
});

test('authtype overrides useshadigestauh for its account: challenges and accepted answers', (t) => {
  const { send, order, users } = setup(t, { useshadigestauh: 0 });
  users.set('bob', 'authtype', '2');
  const toBob = send(BOB, LINPHONE);
  t.deepEqual(order(toBob), ['SHA-256', 'SHA-512-256'], 'SHA only for bob');
  const toAlice = send(ALICE, LINPHONE);
  t.deepEqual(order(toAlice), ['MD5'], 'alice keeps the global MD5');
  // bob may not answer in MD5 (a nonce issued to alice's challenge is as good as any).
  const md5 = send(BOB, LINPHONE, { algorithm: 'MD5', to: toAlice });
  t.is(md5.status, 401);
  t.deepEqual(order(md5), ['SHA-256', 'SHA-512-256']);
  t.is(send(BOB, LINPHONE, { algorithm: 'SHA-256', to: toBob }).status, 200);
  t.deepEqual(users.md5Accounts(), []);

  // authtype 3: both, SHA first (useshadigestauh 1's order, its MD5 fall-back included).
  users.set('alice', 'authtype', '3');
  t.deepEqual(order(send(ALICE, LINPHONE)), ['SHA-256', 'SHA-512-256', 'MD5']);
  t.deepEqual(order(send(ALICE, BARESIP)), ['MD5']);
  // Back to 0: the global level again.
  users.set('alice', 'authtype', '0');
  t.deepEqual(order(send(ALICE, LINPHONE)), ['MD5']);
});

test('authtype 1 keeps an account on MD5 while useshadigestauh 2 refuses MD5 for the others', (t) => {
  const { send, order, users } = setup(t, { useshadigestauh: 2 });
  users.set('alice', 'authtype', '1');
  const toAlice = send(ALICE, LINPHONE);
  t.deepEqual(order(toAlice), ['MD5']);
  t.is(send(ALICE, LINPHONE, { algorithm: 'MD5', to: toAlice }).status, 200);
  t.deepEqual(
    users.md5Accounts().map((a) => a.name),
    ['alice'],
    'audit lists it',
  );
  const toBob = send(BOB, LINPHONE);
  t.deepEqual(order(toBob), ['SHA-256', 'SHA-512-256']);
  t.is(send(BOB, LINPHONE, { algorithm: 'MD5', to: toAlice }).status, 401);
});
