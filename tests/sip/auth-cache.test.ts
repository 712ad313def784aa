// cacheregistrations and authfastusers as a phone sees them through the registrar: whether a
// nonce answers more than one REGISTER, whether a failure is remembered, and whether an
// account that sends faster than a phone is challenged on every request.
// (The proxy's INVITEs go through the same DigestAuthenticator.verify.)
import { Writable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import { Settings } from '../../src/config/settings.ts';
import { UserService } from '../../src/control/users.ts';
import { createLogger } from '../../src/log.ts';
import type { SecurityReport } from '../../src/policy-port.ts';
import { FAILURE_HOLD_MS, FAST_REQUESTS, FAST_WINDOW_MS } from '../../src/sip/auth/auth-cache.ts';
import { DigestAuthenticator } from '../../src/sip/auth/authenticator.ts';
import { NonceManager } from '../../src/sip/auth/nonce.ts';
import { parseMessage, type SipRequest, type SipResponse } from '../../src/sip/message/index.ts';
import { BindingStore } from '../../src/sip/registrar/bindings.ts';
import { Registrar } from '../../src/sip/registrar/registrar.ts';
import { Store } from '../../src/store/store.ts';
import { authorization, type Challenge, challenges, register } from '../helpers/sip-client.ts';
import { tempDir } from '../helpers/tmp.ts';

const ALICE = { user: 'alice', password: 'Wonder-land-42' };
const WRONG = { user: 'alice', password: 'not-the-password' };
const PHONE = '10.0.0.5';
const REQUEST = { method: 'REGISTER', uri: 'sip:tollgate' };

function setup(t: ExecutionContext, config: Record<string, unknown> = {}) {
  const log = createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) });
  const store = Store.open(tempDir(t));
  t.teardown(() => store.close());
  const settings = new Settings(store, config, log);
  const users = new UserService(store, settings, log);
  users.add(ALICE.user, ALICE.password);
  let now = 1_800_000_000_000;
  const clock = { now: () => now, advance: (ms: number) => (now += ms) };
  const nonces = new NonceManager({ key: Buffer.alloc(32, 7), now: clock.now });
  const auth = new DigestAuthenticator(users, nonces, settings, clock.now);
  const reports: SecurityReport[] = [];
  const registrar = new Registrar({
    bindings: new BindingStore(store, clock.now),
    auth,
    settings,
    trust: { trust: async () => {} },
    log,
    report: (e) => reports.push(e),
    now: clock.now,
  });
  let cseq = 1;
  /** One REGISTER for `user` from `ip`, with this Authorization (or none). */
  const send = (header?: string, ip = PHONE, user = 'alice'): SipResponse => {
    const text = register({
      user,
      cseq: cseq++,
      ...(header ? { authorization: header } : {}),
    });
    const parsed = parseMessage(Buffer.from(text), { transport: 'datagram' });
    if (!parsed.ok) throw new Error(parsed.detail);
    return registrar.handle(parsed.message as SipRequest, { transport: 'udp', ip, port: 5062 });
  };
  const challengeOf = (res: SipResponse): Challenge =>
    challenges(res.headerValues('www-authenticate'))[0]!;
  /** A fresh challenge, for `user` from `ip`. */
  const challenge = (ip = PHONE, user = 'alice') => challengeOf(send(undefined, ip, user));
  return { send, challenge, challengeOf, clock, users, settings, reports };
}

test('cacheregistrations 1 (default): a nonce answers again with a growing count; each answer is checked against the current password', (t) => {
  const { send, challenge, users } = setup(t);
  const c = challenge();
  t.is(send(authorization(c, ALICE, REQUEST, { nc: 1 })).status, 200);
  t.is(send(authorization(c, ALICE, REQUEST, { nc: 2 })).status, 200, 'no new challenge');
  t.is(send(authorization(c, ALICE, REQUEST, { nc: 3 })).status, 200);
  // The password changes: the old one fails on the same nonce at once, the new one works.
  users.set('alice', 'password', 'Brand-new-Secret-77');
  t.is(send(authorization(c, ALICE, REQUEST, { nc: 4 })).status, 403);
  const renewed = { user: 'alice', password: 'Brand-new-Secret-77' };
  t.is(send(authorization(c, renewed, REQUEST, { nc: 5 })).status, 200);
});

test('cacheregistrations 0: a nonce answers one request; a second use is challenged afresh (stale=true)', (t) => {
  const { send, challenge, challengeOf, reports } = setup(t, { cacheregistrations: 0 });
  const c = challenge();
  t.is(send(authorization(c, ALICE, REQUEST, { nc: 1 })).status, 200);
  const again = send(authorization(c, ALICE, REQUEST, { nc: 2 }));
  t.is(again.status, 401);
  const fresh = challengeOf(again);
  t.true(fresh.stale, 'the phone answers at once, without asking its user');
  t.not(fresh.nonce, c.nonce);
  t.like(reports.at(-1), { kind: 'auth-challenge', user: 'alice', detail: 'stale' });
  t.false(
    reports.some((r) => r.kind === 'auth-fail'),
    'not a failure: no step towards a ban',
  );
  t.is(send(authorization(fresh, ALICE, REQUEST, { nc: 1 })).status, 200);
});

test('cacheregistrations 0 also holds for RFC 2069 answers (no nonce-count) sent again', (t) => {
  const lenient = setup(t, { strongdigestauth: 1 });
  const c1 = lenient.challenge();
  const h1 = authorization(c1, ALICE, REQUEST, { qop: false });
  t.is(lenient.send(h1).status, 200);
  t.is(lenient.send(h1).status, 200, 'level 1: reused within its lifetime');

  const once = setup(t, { strongdigestauth: 1, cacheregistrations: 0 });
  const c0 = once.challenge();
  const h0 = authorization(c0, ALICE, REQUEST, { qop: false });
  t.is(once.send(h0).status, 200);
  const again = once.send(h0);
  t.is(again.status, 401);
  t.true(once.challengeOf(again).stale);
});

test('cacheregistrations 2: a failure is remembered per account and address; 1 does not remember it', (t) => {
  const remembering = setup(t, { cacheregistrations: 2 });
  const { send, challenge, clock, reports } = remembering;
  t.is(send(authorization(challenge(), WRONG, REQUEST)).status, 403);
  t.like(reports.at(-1), { kind: 'auth-fail', detail: 'wrong-password' });
  // The right password, moments later from the same address: refused without a digest check.
  const refused = send(authorization(challenge(), ALICE, REQUEST));
  t.is(refused.status, 403);
  t.like(reports.at(-1), { kind: 'auth-fail', user: 'alice', detail: 'cached-failure' });
  // Another address is not concerned.
  t.is(send(authorization(challenge('10.0.0.9'), ALICE, REQUEST), '10.0.0.9').status, 200);
  // Once the hold is over, the right password works again.
  clock.advance(FAILURE_HOLD_MS);
  t.is(send(authorization(challenge(), ALICE, REQUEST)).status, 200);

  const plain = setup(t, { cacheregistrations: 1 });
  t.is(plain.send(authorization(plain.challenge(), WRONG, REQUEST)).status, 403);
  t.is(plain.send(authorization(plain.challenge(), ALICE, REQUEST)).status, 200);
});

test('cacheregistrations 2: a password change drops the remembered failure, and so does creating the account', (t) => {
  const { send, challenge, users } = setup(t, { cacheregistrations: 2 });
  const renewed = { user: 'alice', password: 'Brand-new-Secret-77' };
  t.is(send(authorization(challenge(), renewed, REQUEST)).status, 403, 'not yet the password');
  users.set('alice', 'password', renewed.password);
  t.is(send(authorization(challenge(), renewed, REQUEST)).status, 200);

  const bob = { user: 'bob', password: 'Builder-of-7-houses' };
  t.is(send(authorization(challenge(PHONE, 'bob'), bob, REQUEST), PHONE, 'bob').status, 403);
  users.add(bob.user, bob.password);
  t.is(send(authorization(challenge(PHONE, 'bob'), bob, REQUEST), PHONE, 'bob').status, 200);
});

test('authfastusers: an account faster than a phone is challenged on every request; a phone is not', (t) => {
  const { send, challenge, challengeOf, clock } = setup(t);
  const c = challenge();
  let nc = 1;
  for (let i = 0; i < FAST_REQUESTS; i++) {
    t.is(send(authorization(c, ALICE, REQUEST, { nc: nc++ })).status, 200, `request ${i + 1}`);
    clock.advance(100);
  }
  // One more within the window: the nonce may not serve it.
  const fast = send(authorization(c, ALICE, REQUEST, { nc: nc++ }));
  t.is(fast.status, 401);
  const fresh = challengeOf(fast);
  t.true(fresh.stale);
  // Served all the same, once it answers the fresh challenge.
  t.is(send(authorization(fresh, ALICE, REQUEST, { nc: 1 })).status, 200);
  t.is(send(authorization(fresh, ALICE, REQUEST, { nc: 2 })).status, 401, 'still fast');
  // Spread over another address, the account is just as fast.
  const elsewhere = challenge('10.0.0.9');
  const moved = send(authorization(elsewhere, ALICE, REQUEST, { nc: 1 }), '10.0.0.9');
  t.is(moved.status, 200);
  t.is(send(authorization(elsewhere, ALICE, REQUEST, { nc: 2 }), '10.0.0.9').status, 401);
  // At a phone's pace again (two quiet windows), the nonce is reused as before.
  clock.advance(2 * FAST_WINDOW_MS);
  const later = challenge();
  t.is(send(authorization(later, ALICE, REQUEST, { nc: 1 })).status, 200);
  t.is(send(authorization(later, ALICE, REQUEST, { nc: 2 })).status, 200);
});

test('authfastusers false: the same burst is served on the reused nonce', (t) => {
  const { send, challenge, clock } = setup(t, { authfastusers: false });
  const c = challenge();
  for (let nc = 1; nc <= 3 * FAST_REQUESTS; nc++) {
    t.is(send(authorization(c, ALICE, REQUEST, { nc })).status, 200, `request ${nc}`);
    clock.advance(100);
  }
});
