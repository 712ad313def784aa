import { randomBytes } from 'node:crypto';
import { Writable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import { Settings } from '../../src/config/settings.ts';
import { UserService } from '../../src/control/users.ts';
import { OffDataplane } from '../../src/dataplane/off.ts';
import { createLogger } from '../../src/log.ts';
import type { SecurityReport } from '../../src/policy-port.ts';
import { DigestAuthenticator } from '../../src/sip/auth/authenticator.ts';
import { NonceManager } from '../../src/sip/auth/nonce.ts';
import { parseMessage, type SipRequest, type SipResponse } from '../../src/sip/message/index.ts';
import { BindingStore } from '../../src/sip/registrar/bindings.ts';
import { FLOW_TIMER_SECONDS } from '../../src/sip/registrar/outbound.ts';
import { Registrar } from '../../src/sip/registrar/registrar.ts';
import { TRANSPORT_DEFAULTS } from '../../src/sip/transport/options.ts';
import { Store } from '../../src/store/store.ts';
import {
  authorization,
  challenges,
  type RegisterOptions,
  register,
} from '../helpers/sip-client.ts';
import { tempDir } from '../helpers/tmp.ts';

/** Records what the registrar asks of the kernel (the kernel itself is tested in tests/dataplane). */
class RecordingDataplane extends OffDataplane {
  readonly trusted = new Map<string, number>();
  trustCalls = 0;
  failTrust = false;
  override async trust(ip: string, ttl: number): Promise<void> {
    this.trustCalls++;
    if (this.failTrust) throw new Error('dataplane unavailable');
    this.trusted.set(ip, ttl);
  }
}

const SOURCE = { transport: 'udp' as const, ip: '10.0.0.5', port: 5062 };
const ALICE = { user: 'alice', password: 'Wonder-land-42' };

function setup(t: ExecutionContext, config: Record<string, unknown> = {}, dir = tempDir(t)) {
  const log = createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) });
  const store = Store.open(dir);
  t.teardown(() => store.close());
  const settings = new Settings(store, config, log);
  const users = new UserService(store, settings, log);
  if (!store.tables.users.get('alice')) users.add(ALICE.user, ALICE.password);
  let now = 1_800_000_000_000;
  const clock = { now: () => now, advance: (ms: number) => (now += ms) };
  const nonces = new NonceManager({ key: Buffer.alloc(32, 7), now: clock.now });
  const auth = new DigestAuthenticator(users, nonces, settings);
  const bindings = new BindingStore(store, clock.now);
  bindings.load();
  const dataplane = new RecordingDataplane('test');
  const reports: SecurityReport[] = [];
  const registrar = new Registrar({
    bindings,
    auth,
    settings,
    trust: dataplane,
    log,
    report: (e) => reports.push(e),
    now: clock.now,
  });
  const send = (
    o: RegisterOptions,
    source: typeof SOURCE | typeof TCP_SOURCE = SOURCE,
  ): SipResponse => {
    const parsed = parseMessage(Buffer.from(register(o)), { transport: 'datagram' });
    if (!parsed.ok) throw new Error(`test REGISTER does not parse: ${parsed.detail}`);
    return registrar.handle(parsed.message as SipRequest, source);
  };
  /** Challenge, then answer it: what a phone does. */
  const login = (
    o: RegisterOptions,
    creds = ALICE,
    algorithm?: string,
    authOpts = {},
    source: Parameters<typeof send>[1] = SOURCE,
  ) => {
    const first = send(o, source);
    const offered = challenges(first.headerValues('www-authenticate'));
    const c = offered.find((x) => !algorithm || x.algorithm === algorithm) ?? offered[0]!;
    const domain = o.domain ?? 'tollgate';
    return send(
      {
        ...o,
        cseq: (o.cseq ?? 1) + 1,
        authorization: authorization(
          c,
          creds,
          { method: 'REGISTER', uri: `sip:${domain}` },
          authOpts,
        ),
      },
      source,
    );
  };
  return { store, settings, users, bindings, dataplane, reports, send, login, clock, dir };
}

test('no credentials: 401 with a challenge, reported as a challenge', (t) => {
  const { send, reports } = setup(t);
  const res = send({ user: 'alice' });
  t.is(res.status, 401);
  const offered = challenges(res.headerValues('www-authenticate'));
  t.deepEqual(
    offered.map((c) => c.algorithm),
    ['MD5'],
  );
  t.is(offered[0]!.realm, 'tollgate');
  t.like(reports.at(-1), { kind: 'auth-challenge', ip: '10.0.0.5', port: 5062 });
});

test('the right password registers: 200 with the binding, source trusted for its life', (t) => {
  const { login, bindings, dataplane, reports } = setup(t);
  const res = login({ user: 'alice', expires: 600 });
  t.is(res.status, 200);
  t.deepEqual(res.headerValues('contact'), ['<sip:alice@10.0.0.5:5062>;expires=600']);
  t.is(bindings.lookup('alice').length, 1);
  t.like(bindings.lookup('alice')[0], { ip: '10.0.0.5', port: 5062, transport: 'udp' });
  t.is(dataplane.trusted.get('10.0.0.5'), 600);
  t.like(reports.at(-1), { kind: 'auth-ok', user: 'alice' });
});

for (const algorithm of ['MD5', 'SHA-256', 'SHA-512-256']) {
  test(`useshadigestauh=1 offers all three (SHA-256 first); ${algorithm} works`, (t) => {
    const { login, send } = setup(t, { useshadigestauh: 1 });
    t.deepEqual(
      challenges(send({ user: 'alice' }).headerValues('www-authenticate')).map((c) => c.algorithm),
      ['SHA-256', 'SHA-512-256', 'MD5'],
    );
    t.is(login({ user: 'alice' }, ALICE, algorithm).status, 200);
  });
}

test('useshadigestauh=2 refuses an MD5 answer', (t) => {
  const { send } = setup(t, { useshadigestauh: 2 });
  const forged = {
    realm: 'tollgate',
    nonce: challenges(send({ user: 'alice' }).headerValues('www-authenticate'))[0]!.nonce,
    algorithm: 'MD5',
    stale: false,
  };
  const res = send({
    user: 'alice',
    cseq: 2,
    authorization: authorization(forged, ALICE, { method: 'REGISTER', uri: 'sip:tollgate' }),
  });
  t.is(res.status, 401);
});

test('wrong password and unknown user get the same 403, reported with the username', (t) => {
  const { login, reports, bindings } = setup(t);
  const wrong = login({ user: 'alice' }, { user: 'alice', password: 'not-the-password' });
  t.is(wrong.status, 403);
  t.like(reports.at(-1), {
    kind: 'auth-fail',
    user: 'alice',
    ip: '10.0.0.5',
    port: 5062,
    detail: 'wrong-password',
  });
  const unknown = login({ user: 'mallory' }, { user: 'mallory', password: 'whatever-1' });
  t.is(unknown.status, 403);
  t.is(unknown.reason, wrong.reason, 'no difference an enumerator could use');
  t.like(reports.at(-1), { kind: 'auth-fail', user: 'mallory', detail: 'unknown-user' });
  t.is(bindings.size, 0);
});

test('a replayed nonce-count is refused', (t) => {
  const { send } = setup(t);
  const c = challenges(send({ user: 'alice' }).headerValues('www-authenticate'))[0]!;
  const header = authorization(
    c,
    ALICE,
    { method: 'REGISTER', uri: 'sip:tollgate' },
    { nc: 1, cnonce: 'fixed' },
  );
  t.is(send({ user: 'alice', cseq: 2, authorization: header }).status, 200);
  t.is(send({ user: 'alice', cseq: 3, authorization: header }).status, 403);
  const next = authorization(c, ALICE, { method: 'REGISTER', uri: 'sip:tollgate' }, { nc: 2 });
  t.is(send({ user: 'alice', cseq: 4, authorization: next }).status, 200);
});

test('an expired nonce gets stale=true; a forged one a fresh challenge', (t) => {
  const { send, clock, reports } = setup(t);
  const c = challenges(send({ user: 'alice' }).headerValues('www-authenticate'))[0]!;
  clock.advance(301_000);
  const stale = send({
    user: 'alice',
    cseq: 2,
    authorization: authorization(c, ALICE, { method: 'REGISTER', uri: 'sip:tollgate' }),
  });
  t.is(stale.status, 401);
  t.true(challenges(stale.headerValues('www-authenticate'))[0]!.stale);
  const forged = { ...c, nonce: randomBytes(31).toString('base64url') };
  const wrong = send({
    user: 'alice',
    cseq: 3,
    authorization: authorization(
      forged,
      { user: 'alice', password: 'not-the-password' },
      { method: 'REGISTER', uri: 'sip:tollgate' },
    ),
  });
  t.is(wrong.status, 401);
  t.false(challenges(wrong.headerValues('www-authenticate'))[0]!.stale);
  t.like(reports.at(-1), { kind: 'auth-fail', user: 'alice', detail: 'bad-nonce' });
});

test('a nonce not ours answered with the right password is stale, not a failure (restart, NAT move)', (t) => {
  const { send, reports, bindings } = setup(t);
  const c = challenges(send({ user: 'alice' }).headerValues('www-authenticate'))[0]!;
  // What a phone presents after an upgrade changed the nonce format: not one we can verify.
  const old = { ...c, nonce: randomBytes(24).toString('hex') };
  const res = send({
    user: 'alice',
    cseq: 2,
    authorization: authorization(old, ALICE, { method: 'REGISTER', uri: 'sip:tollgate' }),
  });
  t.is(res.status, 401);
  const fresh = challenges(res.headerValues('www-authenticate'))[0]!;
  t.true(fresh.stale, 'the phone may retry at once without asking its user');
  t.not(fresh.nonce, old.nonce);
  t.false(
    reports.some((r) => r.kind === 'auth-fail'),
    'nothing counts towards an auth-failure ban',
  );
  t.is(bindings.size, 0, 'never accepted on a nonce we did not issue');
  const retried = send({
    user: 'alice',
    cseq: 3,
    authorization: authorization(fresh, ALICE, { method: 'REGISTER', uri: 'sip:tollgate' }),
  });
  t.is(retried.status, 200);
});

test('strongdigestauth=2 requires qop; level 1 accepts an RFC 2069 answer', (t) => {
  const lenient = setup(t, { strongdigestauth: 1 });
  t.is(lenient.login({ user: 'alice' }, ALICE, undefined, { qop: false }).status, 200);
  const strict = setup(t, { strongdigestauth: 2 });
  t.is(strict.login({ user: 'alice' }, ALICE, undefined, { qop: false }).status, 401);
});

test('an account may only register its own address-of-record', (t) => {
  const { login } = setup(t);
  t.is(login({ user: 'alice', toUser: 'bob' }).status, 403);
});

test('expires: below minexpires is 423 with Min-Expires; above maxexpires is shortened', (t) => {
  const { login } = setup(t);
  const brief = login({ user: 'alice', expires: 10 });
  t.is(brief.status, 423);
  t.is(brief.header('min-expires'), '60');
  const long = login({ user: 'alice', expires: 999_999, callId: 'c2' });
  t.deepEqual(long.headerValues('contact'), ['<sip:alice@10.0.0.5:5062>;expires=3600']);
});

test('several contacts, unregister one, then Contact: * removes the rest', (t) => {
  const { login, bindings } = setup(t);
  t.is(
    login({ user: 'alice', contact: '<sip:alice@10.0.0.5:5062>, <sip:alice@10.0.0.6>;q=0.5' })
      .status,
    200,
  );
  t.is(bindings.lookup('alice').length, 2);
  const one = login({ user: 'alice', contact: '<sip:alice@10.0.0.6>;expires=0', cseq: 3 });
  t.deepEqual(one.headerValues('contact'), ['<sip:alice@10.0.0.5:5062>;expires=3600']);
  t.is(login({ user: 'alice', contact: '*', cseq: 5 }).status, 400, '* needs Expires: 0');
  const all = login({ user: 'alice', contact: '*', expires: 0, cseq: 7 });
  t.is(all.status, 200);
  t.false(all.has('contact'));
  t.is(bindings.size, 0);
});

test('a REGISTER older than the binding (same Call-ID, lower CSeq) is refused', (t) => {
  const { login } = setup(t);
  t.is(login({ user: 'alice', cseq: 10 }).status, 200);
  t.is(login({ user: 'alice', cseq: 3 }).status, 500);
});

test('a query (no Contact) lists the bindings without changing them', (t) => {
  const { login } = setup(t);
  login({ user: 'alice', expires: 600 });
  const q = login({ user: 'alice', contact: '', cseq: 5 });
  t.is(q.status, 200);
  t.deepEqual(q.headerValues('contact'), ['<sip:alice@10.0.0.5:5062>;expires=600']);
});

test('bindings survive a restart (reloaded from LMDB), expired ones do not', async (t) => {
  const first = setup(t);
  first.login({ user: 'alice', expires: 600 });
  await first.store.close();
  const second = setup(t, {}, first.dir);
  t.is(second.bindings.lookup('alice').length, 1);
  second.clock.advance(601_000);
  t.is(second.bindings.lookup('alice').length, 0);
  t.is(second.bindings.sweep(), 1);
});

test('a domain tollgate does not serve is refused and reported', (t) => {
  const { send, reports } = setup(t);
  t.is(send({ user: 'alice', domain: 'elsewhere.example' }).status, 403);
  t.like(reports.at(-1), { kind: 'wrong', detail: 'domain not served' });
});

test('stricttransport 3: an account registered over TLS cannot re-register in clear text', (t) => {
  const { login, bindings } = setup(t, { stricttransport: 3 });
  const tls = { transport: 'tls' as const, ip: '10.0.0.5', port: 5063 };
  bindings.upsert({
    aor: 'alice',
    contact: 'sips:alice@10.0.0.5:5063',
    expiresAt: Date.now() * 2,
    q: -1,
    callId: 'tls-reg',
    cseq: 1,
    ...tls,
  });
  const res = login({ user: 'alice' });
  t.is(res.status, 403);
  t.is(res.reason, 'TLS Required');
});

test('refreshes are written to the store only when the stored expiry is less than half left', async (t) => {
  const { login, store, clock } = setup(t);
  const stored = async () => {
    await store.tables.registrations.committed;
    return [...store.tables.registrations.getRange()].map((e) => e.value.expiresAt);
  };
  login({ user: 'alice', expires: 600 });
  const first = await stored();
  t.is(first.length, 1);
  clock.advance(100_000);
  t.is(login({ user: 'alice', expires: 600, cseq: 5 }).status, 200);
  t.deepEqual(await stored(), first, 'a refresh with 500 of 600 s still stored is not rewritten');
  clock.advance(250_000);
  t.is(login({ user: 'alice', expires: 600, cseq: 9 }).status, 200);
  t.true((await stored())[0]! > first[0]!, 'with 250 of 600 s left it is written again');
});

test('the dataplane is asked to trust a source again only when its trust would end elsewhen', async (t) => {
  const { login, dataplane, clock } = setup(t);
  t.is(login({ user: 'alice', expires: 600 }).status, 200);
  t.is(dataplane.trustCalls, 1);
  t.is(login({ user: 'alice', expires: 600, cseq: 5 }).status, 200);
  t.is(dataplane.trustCalls, 1, 'same second, same lifetime: the trust already ends then');
  clock.advance(2_000);
  t.is(login({ user: 'alice', expires: 600, cseq: 9 }).status, 200);
  t.is(dataplane.trustCalls, 2, 'two seconds later the refresh extends it');
  t.is(dataplane.trusted.get('10.0.0.5'), 600);
  t.is(login({ user: 'alice', expires: 300, cseq: 13 }).status, 200);
  t.is(dataplane.trustCalls, 3);
  t.is(dataplane.trusted.get('10.0.0.5'), 300, 'a shorter lifetime shortens it');
});

test('a source the dataplane failed to trust is asked again on its next REGISTER', async (t) => {
  const { login, dataplane } = setup(t);
  dataplane.failTrust = true;
  t.is(login({ user: 'alice', expires: 600 }).status, 200);
  await new Promise((resolve) => setImmediate(resolve)); // the failure is seen
  dataplane.failTrust = false;
  t.is(login({ user: 'alice', expires: 600, cseq: 5 }).status, 200);
  t.is(dataplane.trustCalls, 2);
  t.is(dataplane.trusted.get('10.0.0.5'), 600);
});

test('live settings changed at run time apply to the next REGISTER', (t) => {
  const { send, login, settings } = setup(t);
  settings.set('useshadigestauh', 1);
  t.deepEqual(
    challenges(send({ user: 'alice' }).headerValues('www-authenticate')).map((c) => c.algorithm),
    ['SHA-256', 'SHA-512-256', 'MD5'],
  );
  settings.set('strongdigestauth', 2);
  t.is(login({ user: 'alice' }, ALICE, undefined, { qop: false }).status, 401, 'qop now required');
  settings.set('minexpires', 900);
  t.is(login({ user: 'alice', expires: 600, callId: 'c2' }).status, 423);
  settings.set('blockotherdomains', false);
  t.is(login({ user: 'alice', domain: 'elsewhere.example', callId: 'c3' }).status, 200);
});

const TCP_SOURCE = {
  transport: 'tcp' as const,
  ip: '10.0.0.5',
  port: 40123,
  connectionId: 'tcp-7',
};
const INSTANCE = '<urn:uuid:00000000-0000-1000-8000-00a0c91e6bf6>';
const outboundContact = (port: number) =>
  `<sip:alice@10.0.0.5:${port};transport=tcp;ob>;reg-id=1;+sip.instance="${INSTANCE}"`;

test('RFC 5626 outbound over TCP: the 200 keeps reg-id and +sip.instance, says Require: outbound and Flow-Timer; the binding keeps its connection', (t) => {
  const { send, bindings } = setup(t);
  const first = send(
    { user: 'alice', contact: outboundContact(5062), extraHeaders: ['Supported: path, outbound'] },
    TCP_SOURCE,
  );
  const c = challenges(first.headerValues('www-authenticate'))[0]!;
  const res = send(
    {
      user: 'alice',
      cseq: 2,
      expires: 600,
      contact: outboundContact(5062),
      extraHeaders: ['Supported: path, outbound'],
      authorization: authorization(c, ALICE, { method: 'REGISTER', uri: 'sip:tollgate' }),
    },
    TCP_SOURCE,
  );
  t.is(res.status, 200);
  t.is(res.header('require'), 'outbound');
  t.is(res.header('flow-timer'), String(FLOW_TIMER_SECONDS));
  t.deepEqual(res.headerValues('contact'), [
    `<sip:alice@10.0.0.5:5062;transport=tcp;ob>;expires=600;reg-id=1;+sip.instance="${INSTANCE}"`,
  ]);
  t.like(bindings.lookup('alice')[0], {
    transport: 'tcp',
    connectionId: 'tcp-7',
    instance: INSTANCE,
    regId: 1,
  });
  t.true(
    FLOW_TIMER_SECONDS * 1000 < TRANSPORT_DEFAULTS.idleTimeoutMs,
    'keep-alives come before the transport closes an idle connection',
  );
});

test('RFC 5626: the same instance and reg-id from a new connection replaces the old flow', (t) => {
  const { login, bindings } = setup(t);
  const reg = (port: number, connectionId: string, cseq: number) =>
    login(
      {
        user: 'alice',
        cseq,
        expires: 600,
        contact: outboundContact(port),
        extraHeaders: ['Supported: outbound'],
      },
      ALICE,
      undefined,
      {},
      { ...TCP_SOURCE, port, connectionId },
    );
  t.is(reg(5062, 'tcp-1', 1).status, 200);
  const res = reg(5099, 'tcp-2', 3);
  t.is(res.status, 200);
  t.is(res.headerValues('contact').length, 1, 'one flow, not two');
  t.like(bindings.lookup('alice')[0], { port: 5099, connectionId: 'tcp-2' });
});

test('RFC 5626 is not granted over UDP (its keep-alive is STUN) nor without Supported: outbound', (t) => {
  const { login } = setup(t);
  const udp = login({
    user: 'alice',
    contact: outboundContact(5062),
    extraHeaders: ['Supported: outbound'],
  });
  t.is(udp.status, 200);
  t.false(udp.has('require'));
  t.false(udp.has('flow-timer'));
  t.regex(udp.header('contact')!, /;\+sip\.instance="<urn:uuid:[^"]+>"$/, 'the instance is kept');
  t.notRegex(udp.header('contact')!, /reg-id/);
  const plain = login(
    { user: 'alice', callId: 'reg-2', contact: outboundContact(5063) },
    ALICE,
    undefined,
    {},
    TCP_SOURCE,
  );
  t.is(plain.status, 200);
  t.false(plain.has('require'), 'the phone did not ask for outbound');
});

test('sipdomains: the domains served besides the realm; others are refused', (t) => {
  const { login, send } = setup(t, { sipdomains: 'voip.example,pbx.example' });
  t.is(login({ user: 'alice', domain: 'voip.example' }).status, 200);
  t.is(login({ user: 'alice', domain: 'pbx.example', callId: 'c2' }).status, 200);
  t.is(send({ user: 'alice', domain: 'elsewhere.example', callId: 'c3' }).status, 403);
});
