// Routing of calls on the transaction harness (fake clock, a transport that records what it
// would send) with the real LMDB store, users, bindings and routing tables: forking to every
// binding (first 2xx wins, CANCEL to the rest, best final), trunks by longest prefix with
// failover on 5xx / 408 / no answer (never on other 4xx), trunkUsable, inbound calls from a
// trunk's address, 3xx recursion (securemove, allownoauthfork), topology hiding
// (forwardclientaddress) and who pays (CallRequest.account: proof only, never From).
// Real SIPp peers through the daemon: tests/sip/routing-sipp.test.ts.
import { Writable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import { Settings } from '../../src/config/settings.ts';
import { RoutingService, routeInput, trunkInput } from '../../src/control/routing/routing.ts';
import { UserService } from '../../src/control/users.ts';
import { createLogger } from '../../src/log.ts';
import type { CallAccounting, CallRequest } from '../../src/policy-port.ts';
import { DigestAuthenticator } from '../../src/sip/auth/authenticator.ts';
import { NonceManager } from '../../src/sip/auth/nonce.ts';
import type { SipRequest, SipResponse } from '../../src/sip/message/index.ts';
import { OwnAddresses, SipProxy } from '../../src/sip/proxy/index.ts';
import { orderRoutes, StoredRouting } from '../../src/sip/proxy/routing/table.ts';
import { BindingStore } from '../../src/sip/registrar/bindings.ts';
import type { Endpoint } from '../../src/sip/transaction/index.ts';
import type { RouteRecord } from '../../src/store/records.ts';
import { Store } from '../../src/store/store.ts';
import { authorization, challenges } from '../helpers/sip-client.ts';
import { tempDir } from '../helpers/tmp.ts';
import { harness, sipRequest, sipResponse } from '../helpers/transaction-harness.ts';

const US = { transport: 'udp' as const, ip: '192.0.2.1', port: 5060 };
const ALICE_AT: Endpoint = { transport: 'udp', ip: '192.0.2.10', port: 5070 };
const BOB_DESK: Endpoint = { transport: 'udp', ip: '198.51.100.20', port: 40000 };
const BOB_MOBILE: Endpoint = { transport: 'udp', ip: '198.51.100.21', port: 40002 };
const CAROL_AT: Endpoint = { transport: 'udp', ip: '198.51.100.30', port: 5060 };
const TRUNK_A: Endpoint = { transport: 'udp', ip: '203.0.113.10', port: 5060 };
const TRUNK_B: Endpoint = { transport: 'udp', ip: '203.0.113.20', port: 5080 };
const ALICE = { user: 'alice', password: 'Wonder-land-42' };
const quiet = () => createLogger({ destination: new Writable({ write: (_c, _e, d) => d() }) });

function setup(t: ExecutionContext, config: Record<string, unknown> = {}) {
  const log = quiet();
  const store = Store.open(tempDir(t));
  t.teardown(() => store.close());
  const settings = new Settings(store, config, log);
  const users = new UserService(store, settings, log);
  users.add(ALICE.user, ALICE.password);
  users.add('bob', 'Build-it-77x');
  users.add('carol', 'Sings-in-tune-99');
  const now = 1_800_000_000_000;
  const auth = new DigestAuthenticator(
    users,
    new NonceManager({ key: Buffer.alloc(32, 7), now: () => now }),
    settings,
  );
  const bindings = new BindingStore(store, () => now);
  const bind = (aor: string, contact: string, at: Endpoint, q = -1) =>
    bindings.upsert({
      aor,
      contact,
      expiresAt: now + 3600_000,
      q,
      callId: `reg-${aor}-${at.port}`,
      cseq: 1,
      ...at,
    });
  bind('bob', 'sip:bob@10.1.1.5:5060', BOB_DESK, 1000);
  bind('bob', 'sip:bob@10.1.1.6:5062', BOB_MOBILE, 500);
  bind('carol', 'sip:carol@10.1.1.7:5060', CAROL_AT);
  const routing = new RoutingService(store, log);
  const requests: CallRequest[] = [];
  const unusable = new Set<string>();
  const calls: CallAccounting = {
    authorize: (call) => {
      requests.push(call);
      return { allow: true, maxDurationSeconds: undefined };
    },
    answered: () => ({ maxDurationSeconds: undefined }),
    ended: () => {},
    trunkUsable: (trunk) => !unusable.has(trunk),
  };
  let proxy: SipProxy | undefined;
  const h = harness({
    onRequest: (tx, req) => proxy!.handleRequest(tx, req),
    onAck: (ack, source) => proxy!.handleAck(ack, source),
    onStrayResponse: (res) => proxy!.handleStrayResponse(res),
  });
  proxy = new SipProxy({
    transactions: h.layer,
    bindings,
    auth,
    settings,
    log,
    report: () => ({ action: 'pass' }),
    own: new OwnAddresses([US], []),
    userExists: (name) => users.exists(name),
    ipAuthenticate: (ip, dialled, port) => users.ipAuthenticate(ip, dialled, port),
    routing: new StoredRouting(store),
    calls,
    now: () => now,
    clock: h.clock,
  });
  const sentTo = (dest: Endpoint) =>
    h.sent.filter((s) => s.dest.ip === dest.ip && s.dest.port === dest.port).map((s) => s.message);
  const requestsTo = (dest: Endpoint, method?: string) =>
    sentTo(dest).filter(
      (m): m is SipRequest => m.kind === 'request' && (!method || m.method === method),
    );
  const toCaller = () => sentTo(ALICE_AT).filter((m): m is SipResponse => m.kind === 'response');
  const addTrunk = (name: string, at: Endpoint, opts: Record<string, string> = {}) =>
    routing.addTrunk(
      trunkInput(
        name,
        new Map(Object.entries({ '--host': at.ip, '--port': String(at.port), ...opts })),
      ),
    );
  const addRoute = (prefix: string, trunk: string, opts: Record<string, string> = {}) =>
    routing.addRoute(routeInput(prefix, new Map(Object.entries({ '--trunk': trunk, ...opts }))));
  return {
    h,
    proxy,
    settings,
    users,
    requests,
    unusable,
    sentTo,
    requestsTo,
    toCaller,
    addTrunk,
    addRoute,
    bind,
  };
}

type S = ReturnType<typeof setup>;

function invite(o: { uri?: string; from?: string; branch?: string; extra?: string[] } = {}) {
  return sipRequest(
    [
      `INVITE ${o.uri ?? 'sip:bob@tollgate'} SIP/2.0`,
      `Via: SIP/2.0/UDP 192.0.2.10:5070;branch=${o.branch ?? 'z9hG4bKinv1'};rport`,
      'Via: SIP/2.0/UDP 10.0.0.99:5060;branch=z9hG4bKinner',
      'Record-Route: <sip:10.0.0.99;lr>',
      'Max-Forwards: 70',
      `From: ${o.from ?? '<sip:alice@tollgate>'};tag=alice-tag`,
      `To: <${o.uri ?? 'sip:bob@tollgate'}>`,
      'Call-ID: call-1@10.0.0.99',
      'CSeq: 1 INVITE',
      'Contact: <sip:alice@10.0.0.99:5070>',
      ...(o.extra ?? []),
      'Content-Length: 0',
      '',
      '',
    ].join('\n'),
  );
}

/** The INVITE again, with digest credentials for alice (after its 407). */
function callAs(s: S, o: Parameters<typeof invite>[0] = {}) {
  s.h.layer.receive(invite({ ...o, branch: 'z9hG4bKfirst' }), ALICE_AT);
  const challenge = s.toCaller().at(-1)!;
  if (challenge.status !== 407) throw new Error(`expected 407, got ${challenge.status}`);
  const c = challenges(challenge.headerValues('proxy-authenticate')).find(
    (x) => x.algorithm === 'MD5',
  )!;
  const uri = o.uri ?? 'sip:bob@tollgate';
  const header = authorization(c, ALICE, { method: 'INVITE', uri });
  s.h.layer.receive(
    invite({ ...o, extra: [...(o.extra ?? []), `Proxy-Authorization: ${header}`] }),
    ALICE_AT,
  );
}

function answer(
  req: SipRequest,
  status: number,
  o: { tag?: string; contact?: string; extra?: string[] } = {},
) {
  return sipResponse(
    [
      `SIP/2.0 ${status} X`,
      ...req.headerValues('via').map((v) => `Via: ${v}`),
      ...req.headerValues('record-route').map((v) => `Record-Route: ${v}`),
      `From: ${req.header('from')}`,
      `To: ${req.header('to')}${status === 100 ? '' : `;tag=${o.tag ?? 'callee-tag'}`}`,
      `Call-ID: ${req.header('call-id')}`,
      `CSeq: ${req.header('cseq')}`,
      ...(o.contact ? [`Contact: <${o.contact}>`] : []),
      ...(o.extra ?? []),
      'Content-Length: 0',
      '',
      '',
    ].join('\n'),
  );
}

test('forking: every binding of the callee rings; the first 2xx wins and the other branch is CANCELled', (t) => {
  const s = setup(t);
  callAs(s);
  const desk = s.requestsTo(BOB_DESK, 'INVITE').at(-1)!;
  const mobile = s.requestsTo(BOB_MOBILE, 'INVITE').at(-1)!;
  t.truthy(desk && mobile, 'both phones got the INVITE');
  t.is(desk.uriText, 'sip:bob@10.1.1.5:5060');
  t.is(mobile.uriText, 'sip:bob@10.1.1.6:5062');
  s.h.layer.receive(answer(desk, 180, { tag: 'desk' }), BOB_DESK);
  s.h.layer.receive(answer(mobile, 180, { tag: 'mobile' }), BOB_MOBILE);
  s.h.layer.receive(
    answer(mobile, 200, { tag: 'mobile', contact: 'sip:bob@10.1.1.6:5062' }),
    BOB_MOBILE,
  );
  t.deepEqual(
    s.toCaller().map((r) => r.status),
    [407, 180, 180, 200],
  );
  const cancels = s.requestsTo(BOB_DESK, 'CANCEL');
  t.is(cancels.length, 1, 'the losing branch is cancelled');
  t.is(cancels[0]!.uriText, desk.uriText);
  t.is(s.requestsTo(BOB_MOBILE, 'CANCEL').length, 0);
  t.is(s.proxy.stats.calls, 1);
  // The desk's 487 is absorbed; the caller's answer stays the 200.
  s.h.layer.receive(answer(desk, 487, { tag: 'desk' }), BOB_DESK);
  t.is(s.toCaller().at(-1)!.status, 200);
  t.like(s.requests.at(-1), { account: 'alice', accountKind: 'user', destination: 'local' });
});

test('forking: when every branch fails the best final goes back (§16.7 step 6); a 6xx stops the others', (t) => {
  const s = setup(t);
  callAs(s);
  const desk = s.requestsTo(BOB_DESK, 'INVITE').at(-1)!;
  const mobile = s.requestsTo(BOB_MOBILE, 'INVITE').at(-1)!;
  s.h.layer.receive(answer(desk, 180, { tag: 'desk' }), BOB_DESK);
  s.h.layer.receive(answer(mobile, 486, { tag: 'mobile' }), BOB_MOBILE);
  t.deepEqual(
    s.toCaller().map((r) => r.status),
    [407, 180],
    'one branch still rings',
  );
  s.h.layer.receive(answer(desk, 603, { tag: 'desk' }), BOB_DESK);
  t.is(s.toCaller().at(-1)!.status, 603, '6xx beats 4xx');

  const s2 = setup(t);
  callAs(s2);
  const desk2 = s2.requestsTo(BOB_DESK, 'INVITE').at(-1)!;
  const mobile2 = s2.requestsTo(BOB_MOBILE, 'INVITE').at(-1)!;
  s2.h.layer.receive(answer(mobile2, 180, { tag: 'm' }), BOB_MOBILE);
  s2.h.layer.receive(answer(desk2, 600, { tag: 'd' }), BOB_DESK);
  t.is(s2.requestsTo(BOB_MOBILE, 'CANCEL').length, 1, 'a 6xx cancels the branches still ringing');
  s2.h.layer.receive(answer(mobile2, 487, { tag: 'm' }), BOB_MOBILE);
  t.is(s2.toCaller().at(-1)!.status, 600);
});

test('allownoauthfork 4: an unauthenticated caller rings only the first device', (t) => {
  const s = setup(t, { allownoauthcalls: 2, allownoauthfork: 4 });
  s.h.layer.receive(invite({ from: '<sip:someone@example.org>' }), ALICE_AT);
  t.is(s.requestsTo(BOB_DESK, 'INVITE').length, 1);
  t.is(s.requestsTo(BOB_MOBILE, 'INVITE').length, 0);
  const s3 = setup(t, { allownoauthcalls: 2, allownoauthfork: 3 });
  s3.h.layer.receive(invite({ from: '<sip:someone@example.org>' }), ALICE_AT);
  t.is(s3.requestsTo(BOB_MOBILE, 'INVITE').length, 1, '3: all of its own devices');
});

test('trunks: longest prefix, then priority; failover to the next trunk on 503, never on 404', (t) => {
  const s = setup(t);
  s.addTrunk('carrier-a', TRUNK_A);
  s.addTrunk('carrier-b', TRUNK_B);
  s.addRoute('0', 'carrier-b');
  s.addRoute('0044', 'carrier-a', { '--priority': '1' });
  s.addRoute('0044', 'carrier-b', { '--priority': '2', '--strip': '2', '--prepend': '+' });
  callAs(s, { uri: 'sip:00441234567@tollgate' });
  const first = s.requestsTo(TRUNK_A, 'INVITE').at(-1)!;
  t.is(first.uriText, 'sip:00441234567@203.0.113.10:5060');
  t.is(s.requestsTo(TRUNK_B).length, 0, 'the second trunk waits');
  t.like(s.requests.at(-1), {
    account: 'alice',
    destination: 'trunk',
    trunk: 'carrier-a',
    route: '0044',
    dialled: '00441234567',
  });
  s.h.layer.receive(answer(first, 100), TRUNK_A);
  s.h.layer.receive(answer(first, 503), TRUNK_A);
  const second = s.requestsTo(TRUNK_B, 'INVITE').at(-1)!;
  t.is(second.uriText, 'sip:+441234567@203.0.113.20:5080', 'strip 2, prepend +');
  s.h.layer.receive(answer(second, 200, { contact: 'sip:gw@203.0.113.20' }), TRUNK_B);
  t.is(s.toCaller().at(-1)!.status, 200);

  const s2 = setup(t);
  s2.addTrunk('carrier-a', TRUNK_A);
  s2.addTrunk('carrier-b', TRUNK_B);
  s2.addRoute('00', 'carrier-a', { '--priority': '1' });
  s2.addRoute('00', 'carrier-b', { '--priority': '2' });
  callAs(s2, { uri: 'sip:0049301234@tollgate' });
  const a = s2.requestsTo(TRUNK_A, 'INVITE').at(-1)!;
  s2.h.layer.receive(answer(a, 404), TRUNK_A);
  t.is(s2.requestsTo(TRUNK_B).length, 0, 'a 404 is an answer, not a failure of the trunk');
  t.is(s2.toCaller().at(-1)!.status, 404);
});

test('trunks: a trunk that answers nothing within its timeout is skipped; all failing gives 500, not 503', (t) => {
  const s = setup(t);
  s.addTrunk('carrier-a', TRUNK_A, { '--timeout': '2' });
  s.addTrunk('carrier-b', TRUNK_B);
  s.addRoute('00', 'carrier-a', { '--priority': '1' });
  s.addRoute('00', 'carrier-b', { '--priority': '2' });
  callAs(s, { uri: 'sip:0049301234@tollgate' });
  t.is(s.requestsTo(TRUNK_A, 'INVITE').length, 1);
  s.h.clock.advance(2_100);
  const b = s.requestsTo(TRUNK_B, 'INVITE').at(-1)!;
  t.truthy(b, 'the next trunk is tried after the timeout');
  s.h.layer.receive(answer(b, 503), TRUNK_B);
  const last = s.toCaller().at(-1)!;
  t.is(last.status, 500, '§16.7: a 503 is not passed on');
  t.is(last.via()[0]!.branch, 'z9hG4bKinv1', "the caller's own Via");
});

test('trunks: one that policy says is unusable (trunkUsable) is skipped; none usable gives 503', (t) => {
  const s = setup(t);
  s.addTrunk('carrier-a', TRUNK_A);
  s.addTrunk('carrier-b', TRUNK_B);
  s.addRoute('00', 'carrier-a', { '--priority': '1' });
  s.addRoute('00', 'carrier-b', { '--priority': '2' });
  s.unusable.add('carrier-a');
  callAs(s, { uri: 'sip:0049301234@tollgate' });
  t.is(s.requestsTo(TRUNK_A).length, 0);
  t.is(s.requestsTo(TRUNK_B, 'INVITE').length, 1);
  s.unusable.add('carrier-b');
  const s2 = setup(t);
  s2.addTrunk('carrier-a', TRUNK_A);
  s2.addRoute('00', 'carrier-a');
  s2.unusable.add('carrier-a');
  callAs(s2, { uri: 'sip:0049301234@tollgate' });
  t.is(s2.toCaller().at(-1)!.status, 503);
});

test('a number with no route and no such user is 404; an unauthenticated caller is challenged before a paid route', (t) => {
  const s = setup(t);
  callAs(s, { uri: 'sip:0049301234@tollgate' });
  t.is(s.toCaller().at(-1)!.status, 404);
  const s2 = setup(t, { allownoauthcalls: 2 });
  s2.addTrunk('carrier-a', TRUNK_A);
  s2.addRoute('00', 'carrier-a');
  s2.h.layer.receive(
    invite({ uri: 'sip:0049301234@tollgate', from: '<sip:x@example.org>' }),
    ALICE_AT,
  );
  t.is(s2.toCaller().at(-1)!.status, 407, 'nobody calls out without an account');
  t.is(s2.requestsTo(TRUNK_A).length, 0);
});

test('inbound from a trunk by its address (and tech prefix): the trunk is the account, the prefix is removed', (t) => {
  const s = setup(t, { allownoauthcalls: 0 });
  s.addTrunk('carrier-a', TRUNK_A, { '--inbound-ip': '203.0.113.0/28', '--techprefix': '77' });
  const from = (uri: string, n: number) =>
    sipRequest(
      [
        `INVITE ${uri} SIP/2.0`,
        `Via: SIP/2.0/UDP 203.0.113.10:5060;branch=z9hG4bKtrunk${n}`,
        'Max-Forwards: 70',
        '<sip:+4930555@carrier.example>;tag=t1'.replace(/^/, 'From: '),
        `To: <${uri}>`,
        `Call-ID: in-${n}@carrier`,
        'CSeq: 1 INVITE',
        'Contact: <sip:gw@203.0.113.10>',
        'Content-Length: 0',
        '',
        '',
      ].join('\n'),
    );
  s.h.layer.receive(from('sip:77carol@192.0.2.1', 1), TRUNK_A);
  const inv = s.requestsTo(CAROL_AT, 'INVITE').at(-1);
  t.truthy(inv, 'carol is rung');
  t.like(s.requests.at(-1), {
    account: 'carrier-a',
    accountKind: 'trunk',
    dialled: 'carol',
    callerId: '+4930555',
  });
  s.h.layer.receive(from('sip:carol@192.0.2.1', 2), TRUNK_A);
  t.is(
    s
      .sentTo(TRUNK_A)
      .filter((m) => m.kind === 'response')
      .at(-1)!.status,
    407,
    'without the tech prefix: not the trunk',
  );
});

test('who pays is proven, never written: a From naming bob bills alice, who authenticated', (t) => {
  const s = setup(t, { allowcalleridchange: 2 });
  callAs(s, { uri: 'sip:carol@tollgate', from: '<sip:bob@tollgate>' });
  t.is(s.requestsTo(CAROL_AT, 'INVITE').length, 1);
  t.like(s.requests.at(-1), { account: 'alice', accountKind: 'user', callerId: 'bob' });
  // Unauthenticated (allownoauthcalls 2 lets it through to a local user): no account at all.
  const s2 = setup(t, { allownoauthcalls: 2 });
  s2.h.layer.receive(
    invite({ uri: 'sip:carol@tollgate', from: '<sip:bob@example.org>' }),
    ALICE_AT,
  );
  t.like(s2.requests.at(-1), { account: undefined, accountKind: undefined, callerId: 'bob' });
});

test('3xx: followed to a local user under securemove 1; to a routed number only under securemove 0; never under 2', (t) => {
  const redirectTo = (s: S, contact: string) => {
    callAs(s, { uri: 'sip:carol@tollgate' });
    const inv = s.requestsTo(CAROL_AT, 'INVITE').at(-1)!;
    s.h.layer.receive(answer(inv, 302, { contact }), CAROL_AT);
  };
  const s1 = setup(t);
  redirectTo(s1, 'sip:bob@tollgate');
  t.is(s1.requestsTo(BOB_DESK, 'INVITE').length, 1, 'securemove 1: to a local user');
  t.is(s1.requestsTo(BOB_MOBILE, 'INVITE').length, 1);

  const s1out = setup(t);
  s1out.addTrunk('carrier-a', TRUNK_A);
  s1out.addRoute('00', 'carrier-a');
  redirectTo(s1out, 'sip:0049301234@tollgate');
  t.is(s1out.requestsTo(TRUNK_A).length, 0, 'securemove 1: never out to a billed route');
  t.is(s1out.toCaller().at(-1)!.status, 302);

  const s0 = setup(t, { securemove: 0 });
  s0.addTrunk('carrier-a', TRUNK_A);
  s0.addRoute('00', 'carrier-a');
  redirectTo(s0, 'sip:0049301234@tollgate');
  t.is(s0.requestsTo(TRUNK_A, 'INVITE').length, 1, 'securemove 0: anywhere');

  const s2 = setup(t, { securemove: 2 });
  redirectTo(s2, 'sip:bob@tollgate');
  t.is(s2.requestsTo(BOB_DESK).length, 0);
  t.is(s2.toCaller().at(-1)!.status, 302, 'securemove 2: the 3xx goes back');
});

test('3xx recursion is bounded: a redirect loop ends after a few hops', (t) => {
  const s = setup(t);
  callAs(s, { uri: 'sip:carol@tollgate' });
  for (let i = 0; i < 10; i++) {
    const inv = s.requestsTo(CAROL_AT, 'INVITE').at(-1)!;
    s.h.layer.receive(answer(inv, 302, { contact: 'sip:carol@tollgate', tag: `r${i}` }), CAROL_AT);
  }
  t.is(s.requestsTo(CAROL_AT, 'INVITE').length, 1, 'the same target is not tried again');
  t.is(s.toCaller().at(-1)!.status, 302);
});

test('topology hiding: the callee sees no Via, Contact or Record-Route of the caller side, and the caller none of the callee', (t) => {
  const s = setup(t);
  callAs(s, { uri: 'sip:carol@tollgate' });
  const inv = s.requestsTo(CAROL_AT, 'INVITE').at(-1)!;
  const text = inv.toString();
  for (const internal of ['10.0.0.99', '192.0.2.10'])
    t.false(text.replace(/Call-ID:.*\r?\n/i, '').includes(internal), `${internal} leaked`);
  t.is(inv.via().length, 1);
  t.is(inv.header('contact'), '<sip:alice@192.0.2.1:5060>');
  t.is(inv.header('record-route'), '<sip:192.0.2.1:5060;lr>');
  s.h.layer.receive(
    answer(inv, 200, {
      contact: 'sip:carol@10.1.1.7:5060',
      extra: ['Record-Route: <sip:10.9.9.9;lr>'],
    }),
    CAROL_AT,
  );
  const ok = s.toCaller().at(-1)!;
  t.is(ok.status, 200);
  t.is(ok.header('contact'), '<sip:carol@192.0.2.1:5060>');
  t.deepEqual(
    ok.headerValues('via').map((v) => v.split(';')[0]),
    ['SIP/2.0/UDP 192.0.2.10:5070', 'SIP/2.0/UDP 10.0.0.99:5060'],
    "the caller's own Vias come back",
  );
  t.deepEqual(ok.headerValues('record-route'), ['<sip:192.0.2.1:5060;lr>', '<sip:10.0.0.99;lr>']);

  // In the dialog: the callee's BYE names the Contact we gave; the caller gets it at its own
  // Contact, with only our Via, and the 200 goes back with the callee's Vias restored.
  s.h.layer.receive(
    sipRequest(
      [
        'BYE sip:alice@192.0.2.1:5060 SIP/2.0',
        'Via: SIP/2.0/UDP 10.1.1.7:5060;branch=z9hG4bKbye1;rport',
        'Route: <sip:192.0.2.1:5060;lr>',
        'Max-Forwards: 70',
        'From: <sip:carol@tollgate>;tag=callee-tag',
        'To: <sip:alice@tollgate>;tag=alice-tag',
        'Call-ID: call-1@10.0.0.99',
        'CSeq: 1 BYE',
        'Content-Length: 0',
        '',
        '',
      ].join('\n'),
    ),
    CAROL_AT,
  );
  const bye = s
    .sentTo(ALICE_AT)
    .filter((m): m is SipRequest => m.kind === 'request')
    .at(-1)!;
  t.is(bye.method, 'BYE');
  t.is(bye.uriText, 'sip:alice@10.0.0.99:5070', "aimed at the caller's real Contact");
  t.is(bye.via().length, 1);
  t.false(bye.toString().includes('10.1.1.7'), "the callee's address stays hidden");
  s.h.layer.receive(answer(bye, 200, { tag: 'alice-tag' }), ALICE_AT);
  const byeOk = s
    .sentTo(CAROL_AT)
    .filter((m): m is SipResponse => m.kind === 'response')
    .at(-1)!;
  t.is(byeOk.status, 200);
  t.is(byeOk.via()[0]!.branch, 'z9hG4bKbye1');

  const open = setup(t, { forwardclientaddress: true });
  callAs(open, { uri: 'sip:carol@tollgate' });
  const plain = open.requestsTo(CAROL_AT, 'INVITE').at(-1)!;
  t.is(plain.via().length, 3, 'forwardclientaddress 1: the path is passed on');
  t.is(plain.header('contact'), '<sip:alice@10.0.0.99:5070>');
});

test('route order: longest prefix, then priority, then weight (each trunk once)', (t) => {
  const r = (prefix: string, trunk: string, priority: number, weight: number): RouteRecord => ({
    prefix,
    trunk,
    priority,
    weight,
    strip: 0,
    prepend: '',
    createdAt: 0,
  });
  const routes = [r('', 'z', 1, 1), r('49', 'a', 2, 1), r('49', 'b', 1, 1), r('493', 'c', 5, 1)];
  t.deepEqual(
    orderRoutes(routes, '4930', () => 0).map((x) => x.trunk),
    ['c', 'b', 'a', 'z'],
  );
  const weighted = [r('1', 'heavy', 1, 90), r('1', 'light', 1, 10)];
  let heavyFirst = 0;
  for (let i = 0; i < 100; i++)
    if (orderRoutes(weighted, '123', () => i / 100)[0]!.trunk === 'heavy') heavyFirst++;
  t.is(heavyFirst, 90);
  t.deepEqual(orderRoutes([r('1', 'x', 1, 1), r('12', 'x', 1, 1)], '123', Math.random).length, 1);
});

test('reuseepauth / reusedifferentportreg / reuseep: a registered source is taken for its account (all off by default)', (t) => {
  const fromDesk = (s: S, from: string, at: Endpoint, n: number) => {
    s.h.layer.receive(
      invite({ uri: 'sip:carol@tollgate', from: `<sip:${from}@tollgate>`, branch: `z9hG4bKr${n}` }),
      at,
    );
  };
  const deskOtherPort: Endpoint = { ...BOB_DESK, port: BOB_DESK.port + 1 };
  const off = setup(t, { allownoauthcalls: 0 });
  fromDesk(off, 'bob', BOB_DESK, 1);
  t.is(
    off
      .sentTo(BOB_DESK)
      .filter((m) => m.kind === 'response')
      .at(-1)!.status,
    407,
  );

  const same = setup(t, { allownoauthcalls: 0, reuseepauth: true });
  fromDesk(same, 'bob', BOB_DESK, 1);
  t.is(
    same.requestsTo(CAROL_AT, 'INVITE').length,
    1,
    'reuseepauth: bob from his registered ip:port',
  );
  t.like(same.requests.at(-1), { account: 'bob', accountKind: 'user' });
  fromDesk(same, 'bob', deskOtherPort, 2);
  t.is(
    same
      .sentTo(deskOtherPort)
      .filter((m) => m.kind === 'response')
      .at(-1)!.status,
    407,
  );
  fromDesk(same, 'alice', BOB_DESK, 3);
  t.is(
    same
      .sentTo(BOB_DESK)
      .filter((m) => m.kind === 'response')
      .at(-1)!.status,
    407,
    "not someone else's name from bob's phone",
  );

  const anyPort = setup(t, { allownoauthcalls: 0, reusedifferentportreg: true });
  fromDesk(anyPort, 'bob', deskOtherPort, 1);
  t.is(anyPort.requestsTo(CAROL_AT, 'INVITE').length, 1, 'reusedifferentportreg: the IP is enough');

  const ep = setup(t, { allownoauthcalls: 0, reuseep: true });
  fromDesk(ep, 'nobody-known', BOB_DESK, 1);
  t.like(ep.requests.at(-1), { account: 'bob' }, 'reuseep: the account registered there');
  fromDesk(ep, 'nobody-known', deskOtherPort, 2);
  t.is(
    ep
      .sentTo(deskOtherPort)
      .filter((m) => m.kind === 'response')
      .at(-1)!.status,
    407,
  );
});
