// The proxy core on the transaction harness (fake clock, a transport that records what it
// would send): admission (407, policy keys, the guard's verdict), §16.6 forwarding, §16.7
// relaying, CANCEL (§9.1, §16.10), in-dialog routing (§16.4) and the bounded call table.
// The real daemon with real SIPp peers is tests/sip/proxy-sipp.test.ts.
import { Writable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import { Settings } from '../../src/config/settings.ts';
import { UserService } from '../../src/control/users.ts';
import { createLogger } from '../../src/log.ts';
import type { SecurityReport, SecurityVerdict } from '../../src/policy-port.ts';
import { DigestAuthenticator } from '../../src/sip/auth/authenticator.ts';
import { NonceManager } from '../../src/sip/auth/nonce.ts';
import type { SipRequest, SipResponse } from '../../src/sip/message/index.ts';
import { INVITE_STEPS, OwnAddresses, REQUEST_STEPS, SipProxy } from '../../src/sip/proxy/index.ts';
import { recordRoutes } from '../../src/sip/proxy/record-route.ts';
import { BindingStore } from '../../src/sip/registrar/bindings.ts';
import { type Endpoint, isChallengeTag } from '../../src/sip/transaction/index.ts';
import { Store } from '../../src/store/store.ts';
import { authorization, challenges } from '../helpers/sip-client.ts';
import { tempDir } from '../helpers/tmp.ts';
import { harness, sipRequest, sipResponse } from '../helpers/transaction-harness.ts';

const US = { transport: 'udp' as const, ip: '192.0.2.1', port: 5060 };
const US_TCP = { transport: 'tcp' as const, ip: '192.0.2.1', port: 5060 };
const US_TLS = { transport: 'tls' as const, ip: '192.0.2.1', port: 5061 };
const ALICE_AT: Endpoint = { transport: 'udp', ip: '192.0.2.10', port: 5070 };
/** Where bob's REGISTER came from (his NAT), not his Contact. */
const BOB_AT: Endpoint = { transport: 'udp', ip: '198.51.100.20', port: 40000 };
const BOB_CONTACT = 'sip:bob@10.1.1.5:5060';
const ALICE = { user: 'alice', password: 'Wonder-land-42' };

function setup(t: ExecutionContext, config: Record<string, unknown> = {}) {
  const log = createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) });
  const store = Store.open(tempDir(t));
  t.teardown(() => store.close());
  const settings = new Settings(store, config, log);
  const users = new UserService(store, settings, log);
  users.add(ALICE.user, ALICE.password);
  users.add('bob', 'Build-it-77x');
  users.add('carol', 'Sings-in-tune-99');
  let now = 1_800_000_000_000;
  const wall = { now: () => now, advance: (ms: number) => (now += ms) };
  const auth = new DigestAuthenticator(
    users,
    new NonceManager({ key: Buffer.alloc(32, 7), now: wall.now }),
    settings,
  );
  const bindings = new BindingStore(store, wall.now);
  bindings.upsert({
    aor: 'bob',
    contact: BOB_CONTACT,
    expiresAt: now + 3600_000,
    q: -1,
    callId: 'reg-bob',
    cseq: 1,
    ...BOB_AT,
  });
  const reports: SecurityReport[] = [];
  const verdicts: { next?: SecurityVerdict } = {};
  let proxy: SipProxy | undefined;
  /** The TCP/TLS connections the transport would call open. */
  const openFlows = new Set<string>();
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
    report: (e) => {
      reports.push(e);
      const v = e.kind === 'call-start' ? verdicts.next : undefined;
      return v ?? { action: 'pass' };
    },
    own: new OwnAddresses([US, US_TCP, US_TLS], []),
    userExists: (name) => users.list().some((u) => u.name === name),
    ipAuthenticate: (ip, dialled) => users.ipAuthenticate(ip, dialled),
    now: wall.now,
    clock: h.clock,
    dialogs: { capacity: 2, idleMs: 60_000 },
    flowOpen: (id) => openFlows.has(id),
  });
  /** What was sent to `dest` (or anywhere), newest last. */
  const sentTo = (dest?: Endpoint) =>
    h.sent.filter((s) => !dest || (s.dest.ip === dest.ip && s.dest.port === dest.port));
  const last = (dest?: Endpoint) => sentTo(dest).at(-1)!.message;
  return { h, proxy, reports, verdicts, wall, settings, bindings, users, sentTo, last, openFlows };
}

interface InviteSpec {
  from?: string;
  to?: string;
  uri?: string;
  branch?: string;
  callId?: string;
  cseq?: number;
  extra?: string[];
}

function invite(o: InviteSpec = {}): SipRequest {
  return sipRequest(
    [
      `INVITE ${o.uri ?? 'sip:bob@tollgate'} SIP/2.0`,
      `Via: SIP/2.0/UDP 192.0.2.10:5070;branch=${o.branch ?? 'z9hG4bKinv1'};rport`,
      'Max-Forwards: 70',
      `From: ${o.from ?? '<sip:alice@tollgate>'};tag=alice-tag`,
      `To: ${o.to ?? '<sip:bob@tollgate>'}`,
      `Call-ID: ${o.callId ?? 'call-1@192.0.2.10'}`,
      `CSeq: ${o.cseq ?? 1} INVITE`,
      'Contact: <sip:alice@192.0.2.10:5070>',
      ...(o.extra ?? []),
      'Content-Length: 0',
      '',
      '',
    ].join('\n'),
  );
}

/** The 407 dance: challenged INVITE, then the same INVITE with Proxy-Authorization. */
function authenticatedInvite(
  s: ReturnType<typeof setup>,
  o: InviteSpec = {},
  creds = ALICE,
): SipRequest {
  s.h.layer.receive(invite({ ...o, branch: `${o.branch ?? 'z9hG4bKinv'}-c` }), ALICE_AT);
  const challenge = s.last(ALICE_AT) as SipResponse;
  if (challenge.status !== 407) throw new Error(`expected 407, got ${challenge.status}`);
  const c = challenges(challenge.headerValues('proxy-authenticate')).find(
    (x) => x.algorithm === 'MD5',
  )!;
  const uri = o.uri ?? 'sip:bob@tollgate';
  return invite({
    ...o,
    branch: o.branch ?? 'z9hG4bKinv',
    cseq: 2,
    extra: [
      ...(o.extra ?? []),
      `Proxy-Authorization: ${authorization(c, creds, { method: 'INVITE', uri })}`,
    ],
  });
}

function answer(req: SipRequest, status: number, toTag = 'bob-tag'): SipResponse {
  const lines = [
    `SIP/2.0 ${status} X`,
    ...req.headerValues('via').map((v) => `Via: ${v}`),
    ...req.headerValues('record-route').map((v) => `Record-Route: ${v}`),
    `From: ${req.header('from')}`,
    `To: ${req.header('to')}${status === 100 ? '' : `;tag=${toTag}`}`,
    `Call-ID: ${req.header('call-id')}`,
    `CSeq: ${req.header('cseq')}`,
    ...(status >= 200 && status < 300 ? [`Contact: <${BOB_CONTACT}>`] : []),
    'Content-Length: 0',
    '',
    '',
  ];
  return sipResponse(lines.join('\n'));
}

/** Sets up a call alice → bob that is answered; returns the INVITE bob received. */
function answeredCall(s: ReturnType<typeof setup>, callId = 'call-1@192.0.2.10') {
  s.h.layer.receive(
    authenticatedInvite(s, { callId, branch: `z9hG4bK${callId.replace(/\W/g, '')}` }),
    ALICE_AT,
  );
  const forwarded = s.last(BOB_AT) as SipRequest;
  s.h.layer.receive(answer(forwarded, 180), BOB_AT);
  s.h.layer.receive(answer(forwarded, 200), BOB_AT);
  return forwarded;
}

function inDialog(
  method: string,
  o: { from: string; to: string; cseq: number; branch: string; route?: boolean; callId?: string },
) {
  return sipRequest(
    [
      `${method} sip:x@10.9.9.9:5060 SIP/2.0`,
      `Via: SIP/2.0/UDP 203.0.113.1:5060;branch=${o.branch};rport`,
      ...(o.route === false ? [] : ['Route: <sip:192.0.2.1:5060;lr>']),
      'Max-Forwards: 70',
      `From: ${o.from}`,
      `To: ${o.to}`,
      `Call-ID: ${o.callId ?? 'call-1@192.0.2.10'}`,
      `CSeq: ${o.cseq} ${method}`,
      'Content-Length: 0',
      '',
      '',
    ].join('\n'),
  );
}

const FROM_ALICE = '<sip:alice@tollgate>;tag=alice-tag';
const TO_BOB = '<sip:bob@tollgate>;tag=bob-tag';
const FROM_BOB = TO_BOB;
const TO_ALICE = FROM_ALICE;

test('an INVITE without credentials is challenged with 407 and the challenge is reported', (t) => {
  const s = setup(t);
  s.h.layer.receive(invite(), ALICE_AT);
  const res = s.last(ALICE_AT) as SipResponse;
  t.is(res.status, 407);
  t.true(res.headerValues('proxy-authenticate').some((v) => v.includes('realm="tollgate"')));
  t.is(s.sentTo(BOB_AT).length, 0, 'nothing reaches the callee');
  t.like(s.reports.at(-1), {
    kind: 'auth-challenge',
    ip: '192.0.2.10',
    port: 5070,
    user: 'alice',
  });
});

/** The ACK alice sends for a non-2xx `res` to `inv` (§17.1.1.3: same branch, the To of `res`). */
function ackOf(inv: SipRequest, res: SipResponse, extra: string[] = []): SipRequest {
  return sipRequest(
    [
      `ACK ${inv.uriText} SIP/2.0`,
      `Via: ${inv.headerValues('via')[0]}`,
      ...extra,
      'Max-Forwards: 70',
      `From: ${inv.header('from')}`,
      `To: ${res.header('to')}`,
      `Call-ID: ${inv.header('call-id')}`,
      `CSeq: ${inv.cseq().seq} ACK`,
      'Content-Length: 0',
      '',
      '',
    ].join('\n'),
  );
}

test('an INVITE without credentials is challenged statelessly: 407 sent once, nothing kept; its ACK, a forged ACK and a CANCEL go nowhere; the call then proceeds', (t) => {
  const s = setup(t);
  const first = invite({ branch: 'z9hG4bKsl1' });
  s.h.layer.receive(first, ALICE_AT);
  const challenge = s.last(ALICE_AT) as SipResponse;
  t.is(challenge.status, 407);
  t.true(isChallengeTag(challenge.to().tag), "the 407's To tag is a challenge tag");
  t.is(s.h.layer.size, 0, 'no INVITE transaction left behind');
  // Past Timer G, H and I: the 407 went out once.
  s.h.clock.advance(40_000);
  t.is(s.sentTo(ALICE_AT).length, 1, 'no Timer G retransmission');
  // The INVITE again (the 407 lost): challenged again, with a fresh nonce and tag.
  s.h.layer.receive(invite({ branch: 'z9hG4bKsl1' }), ALICE_AT);
  const again = s.last(ALICE_AT) as SipResponse;
  t.is(again.status, 407);
  t.not(again.to().tag, challenge.to().tag);
  t.is(s.h.layer.size, 0);
  // CANCEL of the challenged INVITE: no transaction to cancel (§9.2).
  s.h.layer.receive(
    sipRequest(
      [
        'CANCEL sip:bob@tollgate SIP/2.0',
        'Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bKsl1;rport',
        'Max-Forwards: 70',
        'From: <sip:alice@tollgate>;tag=alice-tag',
        'To: <sip:bob@tollgate>',
        'Call-ID: call-1@192.0.2.10',
        'CSeq: 1 CANCEL',
        'Content-Length: 0',
        '',
        '',
      ].join('\n'),
    ),
    ALICE_AT,
  );
  t.is((s.last(ALICE_AT) as SipResponse).status, 481);
  const reportsBefore = s.reports.length;
  const sentBefore = s.h.sent.length;
  // Its ACK, plain and with a Route to elsewhere: dropped by the layer, the proxy never sees it.
  s.h.layer.receive(ackOf(first, challenge), ALICE_AT);
  s.h.layer.receive(ackOf(first, again, ['Route: <sip:198.51.100.20:40000;lr>']), ALICE_AT);
  t.is(s.h.layer.stats.challengeAcks, 2);
  t.is(s.h.layer.stats.acksToTu, 0);
  // A forged ACK: a To tag that is not ours, no dialog (with and without a Route).
  const forged = (branch: string) =>
    inDialog('ACK', {
      from: FROM_ALICE,
      to: '<sip:bob@tollgate>;tag=forged-tag',
      cseq: 1,
      branch,
      route: false,
      callId: 'no-such-call',
    });
  s.h.layer.receive(forged('z9hG4bKf1'), ALICE_AT);
  const routed = forged('z9hG4bKf2');
  routed.addHeader('Route', '<sip:198.51.100.20:40000;lr>');
  s.h.layer.receive(routed, ALICE_AT);
  t.is(s.h.sent.length, sentBefore, 'nothing forwarded, nothing answered');
  t.is(s.reports.length, reportsBefore, 'no report to the guard: not an attack, not wrong');
  // With credentials the call proceeds as usual (the CANCEL's 481 waits out Timer J).
  const live = s.h.layer.stats.server;
  s.h.layer.receive(authenticatedInvite(s, { branch: 'z9hG4bKsl2' }), ALICE_AT);
  const forwarded = s.last(BOB_AT) as SipRequest;
  t.is(forwarded.method, 'INVITE');
  t.is(s.h.layer.stats.server, live + 1, 'the authenticated INVITE has its server transaction');
  s.h.layer.receive(answer(forwarded, 200), BOB_AT);
  t.is((s.last(ALICE_AT) as SipResponse).status, 200);
  // The 407's ACK late (same Call-ID and From tag as the live call), and an ACK of the call
  // with a To tag that is not bob's: neither reaches bob.
  const toBob = s.sentTo(BOB_AT).length;
  s.h.layer.receive(ackOf(first, challenge), ALICE_AT);
  s.h.layer.receive(
    inDialog('ACK', {
      from: FROM_ALICE,
      to: '<sip:bob@tollgate>;tag=x1',
      cseq: 2,
      branch: 'z9hG4bKx',
    }),
    ALICE_AT,
  );
  t.is(s.sentTo(BOB_AT).length, toBob);
  // The call's own ACK still is.
  s.h.layer.receive(
    inDialog('ACK', { from: FROM_ALICE, to: TO_BOB, cseq: 2, branch: 'z9hG4bKok' }),
    ALICE_AT,
  );
  t.is((s.last(BOB_AT) as SipRequest).method, 'ACK');
  t.is(s.sentTo(BOB_AT).length, toBob + 1);
});

test('a wrong password is refused with 403 and reported as auth-fail', (t) => {
  const s = setup(t);
  const req = authenticatedInvite(s, {}, { user: 'alice', password: 'guessed-wrong' });
  s.h.layer.receive(req, ALICE_AT);
  t.is((s.last(ALICE_AT) as SipResponse).status, 403);
  t.like(s.reports.at(-1), { kind: 'auth-fail', user: 'alice', detail: 'wrong-password' });
  t.is(s.sentTo(BOB_AT).length, 0);
});

test('an authenticated INVITE is forwarded per §16.6 to where the callee registered from', (t) => {
  const s = setup(t);
  s.h.layer.receive(authenticatedInvite(s), ALICE_AT);
  const out = s.sentTo(BOB_AT);
  t.is(out.length, 1);
  const fwd = out[0]!.message as SipRequest;
  t.is(fwd.method, 'INVITE');
  t.is(fwd.uriText, BOB_CONTACT, 'Request-URI is the registered contact');
  t.is(fwd.header('max-forwards'), '69');
  t.is(fwd.header('record-route'), '<sip:192.0.2.1:5060;lr>');
  const vias = fwd.via();
  t.is(vias.length, 1, "topology hiding (forwardclientaddress 0): the caller's Via stays here");
  t.is(vias[0]!.host, '192.0.2.1');
  t.true(vias[0]!.branch!.startsWith('z9hG4bKtg'));
  t.false(fwd.has('proxy-authorization'), 'our credentials are not passed on');
  t.like(
    s.reports.find((r) => r.kind === 'call-start'),
    { ip: '192.0.2.10', user: 'alice', callId: 'call-1@192.0.2.10' },
  );
  t.true(s.reports.some((r) => r.kind === 'auth-ok' && r.user === 'alice'));
});

test('provisional and final responses are relayed to the caller without our Via', (t) => {
  const s = setup(t);
  const fwd = answeredCall(s);
  const back = s.sentTo(ALICE_AT).map((x) => x.message as SipResponse);
  const statuses = back.map((r) => r.status);
  t.deepEqual(statuses.slice(-2), [180, 200]);
  const ok = back.at(-1)!;
  t.is(ok.via().length, 1);
  t.is(ok.via()[0]!.branch, 'z9hG4bKcall11920210', "the caller's own Via");
  t.is(ok.header('record-route'), '<sip:192.0.2.1:5060;lr>', 'the callee copied our Record-Route');
  t.is(fwd.callId(), 'call-1@192.0.2.10');
  t.is(s.proxy.stats.calls, 1);
  t.is(s.proxy.stats.pendingInvites, 0);
});

test("a 2xx the callee sends again (RFC 6026 §7.2) reaches the caller like the first, the caller's path and our Contact on it", (t) => {
  const s = setup(t);
  const fwd = answeredCall(s);
  const first = s.last(ALICE_AT) as SipResponse;
  t.is(first.status, 200);
  // Timer M keeps the branch's transaction; all it keeps of the call is what this needs.
  s.h.layer.receive(answer(fwd, 200), BOB_AT);
  const again = s.last(ALICE_AT) as SipResponse;
  t.not(again, first, 'relayed again');
  t.is(again.status, 200);
  t.deepEqual(
    again.via().map((v) => v.branch),
    first.via().map((v) => v.branch),
    "the caller's own Via",
  );
  t.is(again.header('record-route'), first.header('record-route'));
  t.is(again.header('contact'), first.header('contact'), 'our Contact, not the callee’s');
  t.false(again.header('contact')!.includes('10.1.1.5'));
  // A provisional after the answer is not passed on (Accepted passes only 2xx).
  const sent = s.sentTo(ALICE_AT).length;
  s.h.layer.receive(answer(fwd, 180), BOB_AT);
  t.is(s.sentTo(ALICE_AT).length, sent);
});

test('the ACK of the 2xx follows the dialog: our Route popped, stateless, same branch again', (t) => {
  const s = setup(t);
  answeredCall(s);
  const before = s.sentTo(BOB_AT).length;
  const ack = () =>
    inDialog('ACK', { from: FROM_ALICE, to: TO_BOB, cseq: 2, branch: 'z9hG4bKack1' });
  s.h.layer.receive(ack(), ALICE_AT);
  s.h.layer.receive(ack(), ALICE_AT);
  const acks = s.sentTo(BOB_AT).slice(before);
  t.is(acks.length, 2);
  const a = acks[0]!.message as SipRequest;
  t.is(a.method, 'ACK');
  t.false(a.has('route'), 'our own Route entry is removed');
  t.is(a.header('max-forwards'), '69');
  t.is(a.via()[0]!.branch, (acks[1]!.message as SipRequest).via()[0]!.branch);
});

test('a BYE from the callee reaches the caller; its 200 ends the call with its duration', (t) => {
  const s = setup(t);
  answeredCall(s);
  s.wall.advance(42_000);
  s.h.layer.receive(
    inDialog('BYE', { from: FROM_BOB, to: TO_ALICE, cseq: 1, branch: 'z9hG4bKbye1' }),
    BOB_AT,
  );
  const bye = s.last(ALICE_AT) as SipRequest;
  t.is(bye.method, 'BYE');
  s.h.layer.receive(answer(bye, 200, 'alice-tag'), ALICE_AT);
  const ok = s.last(BOB_AT) as SipResponse;
  t.is(ok.status, 200);
  t.is(ok.via().length, 1, 'relayed without our Via');
  t.like(s.reports.at(-1), { kind: 'call-end', ip: '192.0.2.10', durationSeconds: 42 });
  t.is(s.proxy.stats.calls, 0);
  // The call is gone: a late BYE refers to nothing.
  s.h.layer.receive(
    inDialog('BYE', { from: FROM_BOB, to: TO_ALICE, cseq: 2, branch: 'z9hG4bKbye2' }),
    BOB_AT,
  );
  t.is((s.last(BOB_AT) as SipResponse).status, 481);
});

test('in-dialog requests from anyone but the two ends are refused 481', (t) => {
  const s = setup(t);
  answeredCall(s);
  const stranger: Endpoint = { transport: 'udp', ip: '203.0.113.66', port: 5060 };
  s.h.layer.receive(
    inDialog('BYE', { from: FROM_ALICE, to: TO_BOB, cseq: 3, branch: 'z9hG4bKevil1' }),
    stranger,
  );
  t.is((s.last(stranger) as SipResponse).status, 481, 'right tags, wrong source');
  s.h.layer.receive(
    inDialog('BYE', { from: '<sip:x@y>;tag=other', to: TO_BOB, cseq: 3, branch: 'z9hG4bKevil2' }),
    ALICE_AT,
  );
  t.is((s.last(ALICE_AT) as SipResponse).status, 481, 'unknown tag');
  t.is(s.proxy.stats.calls, 1, 'the call is untouched');
});

test('CANCEL: 200 at once, CANCEL downstream only after a provisional, 487 relayed', (t) => {
  const s = setup(t);
  const inv = authenticatedInvite(s);
  s.h.layer.receive(inv, ALICE_AT);
  const fwd = s.last(BOB_AT) as SipRequest;
  const cancel = sipRequest(
    [
      'CANCEL sip:bob@tollgate SIP/2.0',
      'Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bKinv;rport',
      'Max-Forwards: 70',
      `From: ${inv.header('from')}`,
      `To: ${inv.header('to')}`,
      `Call-ID: ${inv.header('call-id')}`,
      'CSeq: 2 CANCEL',
      'Content-Length: 0',
      '',
      '',
    ].join('\n'),
  );
  s.h.layer.receive(cancel, ALICE_AT);
  const ok = s.last(ALICE_AT) as SipResponse;
  t.is(ok.status, 200);
  t.is(ok.cseq().method, 'CANCEL');
  t.is(s.sentTo(BOB_AT).length, 1, '§9.1: no CANCEL before a provisional');
  s.h.layer.receive(answer(fwd, 180), BOB_AT);
  const down = s.last(BOB_AT) as SipRequest;
  t.is(down.method, 'CANCEL');
  t.is(down.uriText, fwd.uriText);
  t.is(down.via()[0]!.branch, fwd.via()[0]!.branch, 'same branch as the INVITE it cancels');
  s.h.layer.receive(answer(fwd, 487), BOB_AT);
  t.is((s.last(ALICE_AT) as SipResponse).status, 487);
  t.like(s.reports.at(-1), { kind: 'call-end', durationSeconds: 0 });
  t.is(s.proxy.stats.calls, 0);
  t.is(s.proxy.stats.pendingInvites, 0);
});

test('a CANCEL for no INVITE gets 481', (t) => {
  const s = setup(t);
  s.h.layer.receive(
    sipRequest(
      [
        'CANCEL sip:bob@tollgate SIP/2.0',
        'Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bKnothing;rport',
        'From: <sip:alice@tollgate>;tag=a',
        'To: <sip:bob@tollgate>',
        'Call-ID: none',
        'CSeq: 1 CANCEL',
        'Content-Length: 0',
        '',
        '',
      ].join('\n'),
    ),
    ALICE_AT,
  );
  t.is((s.last(ALICE_AT) as SipResponse).status, 481);
});

test('callee lookup: 480 known but not registered, 404 unknown; unauthenticated callers cannot tell', (t) => {
  const s = setup(t);
  s.h.layer.receive(
    authenticatedInvite(s, { uri: 'sip:carol@tollgate', branch: 'z9hG4bKc' }),
    ALICE_AT,
  );
  t.is((s.last(ALICE_AT) as SipResponse).status, 480);
  s.h.layer.receive(
    authenticatedInvite(s, { uri: 'sip:dave@tollgate', branch: 'z9hG4bKd' }),
    ALICE_AT,
  );
  t.is((s.last(ALICE_AT) as SipResponse).status, 404);
  t.false(
    s.reports.some((r) => r.kind === 'call-start'),
    'refused calls are not counted',
  );
  // allownoauthcalls=1 lets a caller of another domain reach local users without credentials.
  const outsider: Endpoint = { transport: 'udp', ip: '203.0.113.9', port: 5060 };
  for (const user of ['carol', 'dave']) {
    s.h.layer.receive(
      invite({
        uri: `sip:${user}@tollgate`,
        from: '<sip:x@example.org>',
        branch: `z9hG4bK${user}`,
      }),
      outsider,
    );
    t.is((s.last(outsider) as SipResponse).status, 404);
    t.like(s.reports.at(-1), { kind: 'unauthorized', user });
  }
});

test('allownoauthcalls=1: another domain reaches a local user without credentials, not as one of ours', (t) => {
  const s = setup(t);
  const outsider: Endpoint = { transport: 'udp', ip: '203.0.113.9', port: 5060 };
  s.h.layer.receive(invite({ from: '<sip:x@example.org>' }), outsider);
  t.is((s.last(BOB_AT) as SipRequest).method, 'INVITE', 'forwarded to bob');
  s.h.layer.receive(invite({ callId: 'c2', branch: 'z9hG4bKspoof' }), outsider);
  t.is((s.last(outsider) as SipResponse).status, 407, 'a From of our domain must authenticate');
});

test('allownoauthcalls=0 challenges every call', (t) => {
  const s = setup(t, { allownoauthcalls: 0 });
  const outsider: Endpoint = { transport: 'udp', ip: '203.0.113.9', port: 5060 };
  s.h.layer.receive(invite({ from: '<sip:x@example.org>' }), outsider);
  t.is((s.last(outsider) as SipResponse).status, 407);
});

test('allowanonymouscaller=0: an anonymous caller is challenged; authenticated, it keeps its privacy', (t) => {
  const anon = '"Anonymous" <sip:anonymous@anonymous.invalid>';
  const outsider: Endpoint = { transport: 'udp', ip: '203.0.113.9', port: 5060 };
  const s = setup(t);
  s.h.layer.receive(invite({ from: anon }), outsider);
  t.is((s.last(outsider) as SipResponse).status, 407, 'no credentials, no anonymous call');
  t.is(s.sentTo(BOB_AT).length, 0);
  s.h.layer.receive(authenticatedInvite(s, { from: anon, callId: 'c-anon' }), ALICE_AT);
  const fwd = s.last(BOB_AT) as SipRequest;
  t.is(fwd.method, 'INVITE', 'privacy for an authenticated user');
  t.is(fwd.header('from'), `${anon};tag=alice-tag`);

  const open = setup(t, { allowanonymouscaller: true });
  open.h.layer.receive(invite({ from: anon }), outsider);
  t.is((open.last(BOB_AT) as SipRequest).method, 'INVITE', 'allowanonymouscaller=1');
});

test('an authenticated user may not call as someone else (allowcalleridchange < 2)', (t) => {
  const s = setup(t);
  s.h.layer.receive(authenticatedInvite(s, { from: '<sip:carol@tollgate>' }), ALICE_AT);
  const res = s.last(ALICE_AT) as SipResponse;
  t.is(res.status, 403);
  t.is(res.reason, 'Caller ID Not Allowed');
  // allowcalleridchange=2: any caller ID goes.
  const free = setup(t, { allowcalleridchange: 2 });
  free.h.layer.receive(authenticatedInvite(free, { from: '<sip:carol@tollgate>' }), ALICE_AT);
  t.is((free.last(BOB_AT) as SipRequest).method, 'INVITE', 'forwarded with the From it has');
});

test('other domains: fwdtootherdomains 0 → 403; 1 → 407 then 404 (not routed); blockotherdomains', (t) => {
  const uri = 'sip:someone@example.org';
  const s0 = setup(t, { fwdtootherdomains: 0 });
  s0.h.layer.receive(invite({ uri }), ALICE_AT);
  const r0 = s0.last(ALICE_AT) as SipResponse;
  t.is(r0.status, 403);
  t.regex(r0.reason, /Other Domains/);

  const s1 = setup(t);
  s1.h.layer.receive(invite({ uri, from: '<sip:x@example.net>' }), ALICE_AT);
  t.is((s1.last(ALICE_AT) as SipResponse).status, 407, 'only authenticated users may');
  s1.h.layer.receive(authenticatedInvite(s1, { uri, branch: 'z9hG4bKo' }), ALICE_AT);
  const r1 = s1.last(ALICE_AT) as SipResponse;
  t.is(r1.status, 404);
  t.is(r1.reason, 'Other Domains Not Routed');

  const s2 = setup(t, { fwdtootherdomains: 2 });
  s2.h.layer.receive(invite({ uri, from: '<sip:x@example.net>' }), ALICE_AT);
  const r2 = s2.last(ALICE_AT) as SipResponse;
  t.is(r2.status, 403, 'blockotherdomains=1: no open relay even when forwarding is allowed');
  t.is(r2.reason, 'Domain Not Served');
  t.is(s2.sentTo(BOB_AT).length, 0);
});

test('our own address as Request-URI host is our domain; another port is not', (t) => {
  const s = setup(t);
  s.h.layer.receive(authenticatedInvite(s, { uri: 'sip:bob@192.0.2.1:5060' }), ALICE_AT);
  t.is((s.last(BOB_AT) as SipRequest).method, 'INVITE');
  s.h.layer.receive(
    authenticatedInvite(s, { uri: 'sip:bob@192.0.2.1:5099', callId: 'c2', branch: 'z9hG4bKp' }),
    ALICE_AT,
  );
  t.is((s.last(ALICE_AT) as SipResponse).status, 404);
});

test('a call refused by the guard (maxcallperip) gets 403 naming the rule', (t) => {
  const s = setup(t);
  s.verdicts.next = { action: 'drop', rule: 'maxcallperip' };
  s.h.layer.receive(authenticatedInvite(s), ALICE_AT);
  const res = s.last(ALICE_AT) as SipResponse;
  t.is(res.status, 403);
  t.is(res.reason, 'Call Limit Reached (maxcallperip)');
  t.is(s.sentTo(BOB_AT).length, 0);
  t.is(s.proxy.stats.calls, 0);
});

test('a request that already carries our Via (a loop, §16.3 step 4) gets 482', (t) => {
  const s = setup(t);
  s.h.layer.receive(
    invite({ extra: [], branch: 'z9hG4bKloop' }).prependHeader(
      'Via',
      'SIP/2.0/UDP 192.0.2.1:5060;branch=z9hG4bKtgold',
    ),
    ALICE_AT,
  );
  // The harness transport answers along the top Via: ours.
  const res = s.h.sent.at(-1)!.message as SipResponse;
  t.is(res.status, 482);
});

test('the call table is bounded: full → 503; idle calls are forgotten and reported ended', (t) => {
  const s = setup(t);
  answeredCall(s, 'c-1');
  answeredCall(s, 'c-2');
  s.h.layer.receive(authenticatedInvite(s, { callId: 'c-3', branch: 'z9hG4bKc3' }), ALICE_AT);
  t.is((s.last(ALICE_AT) as SipResponse).status, 503, 'capacity 2');
  s.wall.advance(61_000);
  s.h.layer.receive(authenticatedInvite(s, { callId: 'c-4', branch: 'z9hG4bKc4' }), ALICE_AT);
  t.is((s.last(BOB_AT) as SipRequest).callId(), 'c-4', 'room again after the idle ones expired');
  const ends = s.reports.filter((r) => r.kind === 'call-end');
  t.deepEqual(
    ends.map((r) => [r.callId, r.durationSeconds]),
    [
      ['c-1', 61],
      ['c-2', 61],
    ],
  );
  s.h.layer.receive(
    inDialog('BYE', { from: FROM_ALICE, to: TO_BOB, cseq: 5, branch: 'z9hG4bKold', callId: 'c-1' }),
    ALICE_AT,
  );
  t.is((s.last(ALICE_AT) as SipResponse).status, 481);
});

test('a callee that never answers: the caller gets 408 and the call is forgotten', (t) => {
  const s = setup(t);
  s.h.layer.receive(authenticatedInvite(s), ALICE_AT);
  s.h.clock.advance(40_000); // Timer B (64·T1) on UDP
  const res = s.last(ALICE_AT) as SipResponse;
  t.is(res.status, 408);
  t.is(res.via().length, 1);
  t.is(s.proxy.stats.calls, 0);
  t.like(s.reports.at(-1), { kind: 'call-end', durationSeconds: 0 });
});

test('a malformed or exhausted ACK is dropped without an error', (t) => {
  const s = setup(t);
  answeredCall(s);
  const before = s.h.sent.length;
  const ack = inDialog('ACK', { from: FROM_ALICE, to: TO_BOB, cseq: 2, branch: 'z9hG4bKa0' });
  ack.setHeader('Max-Forwards', '0');
  s.h.layer.receive(ack, ALICE_AT);
  const noCallId = inDialog('ACK', { from: FROM_ALICE, to: TO_BOB, cseq: 2, branch: 'z9hG4bKa1' });
  noCallId.removeHeader('call-id');
  s.h.layer.receive(noCallId, ALICE_AT);
  t.is(s.h.sent.length, before, 'nothing forwarded, nothing answered');
  t.is(s.h.layer.stats.acksToTu, 2, 'both reached the proxy');
  t.is(s.h.layer.stats.tuErrors, 0);
});

test('IP authentication with a tech prefix (needauth 3): the prefix is required and stripped', (t) => {
  const s = setup(t, { allownoauthcalls: 0 });
  s.users.add('trunk', 'Pbx-link-secret-81');
  s.users.set('trunk', 'needauth', '3');
  s.users.set('trunk', 'authip', '192.0.2.0/24');
  s.users.set('trunk', 'techprefix', '7781');
  // Without the prefix, the trunk's address alone proves nothing: challenged.
  s.h.layer.receive(invite({ branch: 'z9hG4bKip1', from: '<sip:pbx@192.0.2.10>' }), ALICE_AT);
  t.is((s.last(ALICE_AT) as SipResponse).status, 407);
  // With it, from the trunk's network: authenticated as the trunk, routed to bob.
  s.h.layer.receive(
    invite({
      branch: 'z9hG4bKip2',
      callId: 'ip-2',
      uri: 'sip:7781bob@tollgate',
      from: '<sip:pbx@192.0.2.10>',
    }),
    ALICE_AT,
  );
  const forwarded = s.last(BOB_AT) as SipRequest;
  t.is(forwarded.uriText, BOB_CONTACT);
  t.like(
    s.reports.find((r) => r.kind === 'auth-ok'),
    { user: 'trunk', detail: 'by address' },
  );
  // The same prefix from another network is challenged.
  const elsewhere: Endpoint = { transport: 'udp', ip: '203.0.113.50', port: 5060 };
  s.h.layer.receive(
    invite({
      branch: 'z9hG4bKip3',
      callId: 'ip-3',
      uri: 'sip:7781bob@tollgate',
      from: '<sip:pbx@203.0.113.50>',
    }),
    elsewhere,
  );
  t.is((s.last(elsewhere) as SipResponse).status, 407);
});

test('stricttransport 2: a user registered over TCP may not call over UDP', (t) => {
  const s = setup(t, { stricttransport: 2 });
  s.bindings.upsert({
    aor: 'alice',
    contact: 'sip:alice@192.0.2.10:5070;transport=tcp',
    expiresAt: s.wall.now() + 3600_000,
    q: -1,
    callId: 'reg-alice',
    cseq: 1,
    transport: 'tcp',
    ip: '192.0.2.10',
    port: 5070,
  });
  s.h.layer.receive(authenticatedInvite(s), ALICE_AT);
  const res = s.last(ALICE_AT) as SipResponse;
  t.is(res.status, 403);
  t.is(res.reason, 'Wrong Transport');
  t.like(s.reports.at(-1), { kind: 'unauthorized', user: 'alice' });
});

test('ringtimeout: a call ringing too long is cancelled downstream; the caller gets the 487', (t) => {
  const s = setup(t, { ringtimeout: 30 });
  s.h.layer.receive(authenticatedInvite(s), ALICE_AT);
  const forwarded = s.last(BOB_AT) as SipRequest;
  s.h.layer.receive(answer(forwarded, 180), BOB_AT);
  s.h.clock.advance(29_000);
  t.false(
    s.sentTo(BOB_AT).some((x) => x.message.kind === 'request' && x.message.method === 'CANCEL'),
  );
  s.h.clock.advance(1_000);
  const cancel = s
    .sentTo(BOB_AT)
    .find((x) => x.message.kind === 'request' && x.message.method === 'CANCEL');
  t.truthy(cancel, 'CANCEL sent to the callee at ringtimeout');
  s.h.layer.receive(answer(forwarded, 487), BOB_AT);
  t.is((s.last(ALICE_AT) as SipResponse).status, 487);
});

test('callinittimeout: no provisional in time gives the caller 408; a late ringing callee is cancelled', (t) => {
  const s = setup(t, { callinittimeout: 5 });
  s.h.layer.receive(authenticatedInvite(s), ALICE_AT);
  const forwarded = s.last(BOB_AT) as SipRequest;
  s.h.clock.advance(5_000);
  const res = s.last(ALICE_AT) as SipResponse;
  t.is(res.status, 408);
  s.h.layer.receive(answer(forwarded, 180), BOB_AT);
  t.truthy(
    s.sentTo(BOB_AT).find((x) => x.message.kind === 'request' && x.message.method === 'CANCEL'),
    'the late callee is told to stop ringing',
  );
});

test('absolutetimeout: an answered call is torn down with a BYE to each end, in its dialog terms', (t) => {
  const s = setup(t, { absolutetimeout: 600 });
  answeredCall(s);
  s.h.clock.advance(599_000);
  const byes = () =>
    s.h.sent.filter((x) => x.message.kind === 'request' && x.message.method === 'BYE');
  t.is(byes().length, 0);
  s.wall.advance(600_000);
  s.h.clock.advance(1_000);
  const toBob = byes().find((x) => x.dest.ip === BOB_AT.ip)!.message as SipRequest;
  const toAlice = byes().find((x) => x.dest.ip === ALICE_AT.ip)!.message as SipRequest;
  t.truthy(toBob && toAlice, 'a BYE to each end');
  t.is(toBob.uriText, BOB_CONTACT, "to the callee's Contact");
  t.is(toBob.from().tag, 'alice-tag', 'as the caller would send it');
  t.is(toBob.to().tag, 'bob-tag');
  t.true(toBob.cseq().seq > 2, "above the caller's INVITE CSeq");
  t.is(toAlice.uriText, 'sip:alice@192.0.2.10:5070', "to the caller's Contact");
  t.is(toAlice.from().tag, 'bob-tag', 'as the callee would send it');
  t.is(toAlice.to().tag, 'alice-tag');
  t.like(s.reports.at(-1), { kind: 'call-end', durationSeconds: 600 });
});

test('blocktoomuchpendingsession: calls in setup per address are capped; an answer frees the slot', (t) => {
  const s = setup(t, { maxpendingsessionsperip: 1 });
  s.h.layer.receive(authenticatedInvite(s, { callId: 'p1', branch: 'z9hG4bKp1' }), ALICE_AT);
  const first = s.last(BOB_AT) as SipRequest;
  s.h.layer.receive(authenticatedInvite(s, { callId: 'p2', branch: 'z9hG4bKp2' }), ALICE_AT);
  const refused = s.last(ALICE_AT) as SipResponse;
  t.is(refused.status, 503);
  t.is(refused.reason, 'Too Many Pending Calls');
  s.h.layer.receive(answer(first, 200), BOB_AT);
  s.h.layer.receive(authenticatedInvite(s, { callId: 'p3', branch: 'z9hG4bKp3' }), ALICE_AT);
  t.is((s.last(BOB_AT) as SipRequest).callId(), 'p3', 'forwarded once the first call was answered');
});

/** bob registered again, over `transport`, with `contact` (his only binding). */
function rebindBob(
  s: ReturnType<typeof setup>,
  at: Endpoint & { connectionId?: string },
  contact: string,
): void {
  s.bindings.removeAll('bob');
  s.bindings.upsert({
    aor: 'bob',
    contact,
    expiresAt: s.wall.now() + 3600_000,
    q: -1,
    callId: 'reg-bob-2',
    cseq: 1,
    transport: at.transport,
    ip: at.ip,
    port: at.port,
    ...(at.connectionId ? { connectionId: at.connectionId } : {}),
  });
}

test('Record-Route: one entry when both sides use UDP; one per side, each with its transport, when they differ (RFC 5658)', (t) => {
  const s = setup(t);
  // UDP → UDP: one entry, no transport parameter (UDP is the default).
  s.h.layer.receive(authenticatedInvite(s), ALICE_AT);
  t.deepEqual((s.last(BOB_AT) as SipRequest).headerValues('record-route'), [
    '<sip:192.0.2.1:5060;lr>',
  ]);

  // TLS caller with a sips: Request-URI → bob over TCP: two entries, the top one facing bob.
  const bobTcp: Endpoint = { transport: 'tcp', ip: '198.51.100.20', port: 40001 };
  rebindBob(s, bobTcp, 'sip:bob@10.1.1.5:5060;transport=tcp');
  const aliceTls: Endpoint = { transport: 'tls', ip: '192.0.2.10', port: 50000 };
  s.h.layer.receive(
    authenticatedInvite(s, {
      uri: 'sips:bob@tollgate',
      callId: 'c-tls',
      branch: 'z9hG4bKtls',
      // A phone with tollgate as its outbound proxy preloads a Route to it (§8.1.2).
      extra: ['Route: <sips:192.0.2.1:5061;lr>'],
    }),
    aliceTls,
  );
  const fwd = s.last(bobTcp) as SipRequest;
  t.is(fwd.method, 'INVITE');
  t.deepEqual(fwd.headerValues('record-route'), [
    '<sip:192.0.2.1:5060;transport=tcp;lr;r2=on>, <sips:192.0.2.1:5061;lr;r2=on>',
  ]);
  t.false(fwd.has('route'), 'our preloaded Route entry is removed (§16.4)');
  t.is(fwd.via()[0]!.transport, 'TCP');
});

test('in-dialog requests of a TLS/TCP call: both entries of the double Record-Route are removed, each side reached on its own transport', (t) => {
  const s = setup(t);
  const bobTcp: Endpoint & { connectionId: string } = {
    transport: 'tcp',
    ip: '198.51.100.20',
    port: 40001,
    connectionId: 'tcp-9',
  };
  rebindBob(s, bobTcp, 'sip:bob@10.1.1.5:5060;transport=tcp');
  const aliceTls: Endpoint & { connectionId: string } = {
    transport: 'tls',
    ip: '192.0.2.10',
    port: 50000,
    connectionId: 'tls-3',
  };
  s.h.layer.receive(authenticatedInvite(s, { branch: 'z9hG4bKx' }), aliceTls);
  const fwd = s.last(bobTcp) as SipRequest;
  s.h.layer.receive(answer(fwd, 200), bobTcp);
  const ok = s.last(aliceTls) as SipResponse;
  t.is(ok.status, 200);
  const rr = ok.tryView('recordRoute');
  t.true(rr.ok);
  const routeSet = rr.ok ? rr.value.map((r) => r.uri.raw) : [];
  t.deepEqual(routeSet, [
    'sip:192.0.2.1:5060;transport=tcp;lr;r2=on',
    'sip:192.0.2.1:5061;transport=tls;lr;r2=on',
  ]);

  // alice's route set is the Record-Route reversed (§12.1.2): the TLS entry first.
  const aliceAck = sipRequest(
    [
      'ACK sip:bob@10.1.1.5:5060;transport=tcp SIP/2.0',
      'Via: SIP/2.0/TLS 192.0.2.10:50000;branch=z9hG4bKack9;rport',
      `Route: <${routeSet[1]}>, <${routeSet[0]}>`,
      'Max-Forwards: 70',
      `From: ${FROM_ALICE}`,
      `To: ${TO_BOB}`,
      'Call-ID: call-1@192.0.2.10',
      'CSeq: 2 ACK',
      'Content-Length: 0',
      '',
      '',
    ].join('\n'),
  );
  s.h.layer.receive(aliceAck, aliceTls);
  const ack = s.sentTo(bobTcp).at(-1)!;
  t.is((ack.message as SipRequest).method, 'ACK');
  t.false(ack.message.has('route'), 'both of our entries are gone');
  t.is(ack.dest.transport, 'tcp');
  t.is((ack.dest as { connectionId?: string }).connectionId, 'tcp-9', "over bob's own connection");

  // bob's BYE: the route set in Record-Route order, TCP entry first.
  const bye = sipRequest(
    [
      'BYE sip:alice@192.0.2.10:5070 SIP/2.0',
      'Via: SIP/2.0/TCP 10.1.1.5:5060;branch=z9hG4bKbye9;rport',
      `Route: <${routeSet[0]}>`,
      `Route: <${routeSet[1]}>`,
      'Max-Forwards: 70',
      `From: ${FROM_BOB}`,
      `To: ${TO_ALICE}`,
      'Call-ID: call-1@192.0.2.10',
      'CSeq: 1 BYE',
      'Content-Length: 0',
      '',
      '',
    ].join('\n'),
  );
  s.h.layer.receive(bye, bobTcp);
  const out = s.sentTo(aliceTls).at(-1)!;
  t.is((out.message as SipRequest).method, 'BYE');
  t.false(out.message.has('route'), 'both of our entries are gone');
  t.is(out.dest.transport, 'tls');
  t.is(
    (out.dest as { connectionId?: string }).connectionId,
    'tls-3',
    "over alice's own connection",
  );
  t.is((out.message as SipRequest).via()[0]!.transport, 'TLS');
  s.h.layer.receive(answer(out.message as SipRequest, 200, 'alice-tag'), aliceTls);
  t.is((s.last(bobTcp) as SipResponse).status, 200);
  t.like(s.reports.at(-1), { kind: 'call-end', user: 'alice' });
});

test('a wildcard listener faces each network with its own interface address: two networks, two entries', (t) => {
  const own = new OwnAddresses(
    [
      { transport: 'udp', ip: '0.0.0.0', port: 5060 },
      { transport: 'tls', ip: '0.0.0.0', port: 5061 },
    ],
    ['127.0.0.1/8', '10.1.0.1/24', '10.2.0.1/24'],
  );
  t.deepEqual(own.advertised('udp', '10.2.0.7'), { host: '10.2.0.1', port: 5060 });
  t.deepEqual(own.advertised('udp', '127.0.0.1'), { host: '127.0.0.1', port: 5060 });
  t.deepEqual(
    own.advertised('udp', '203.0.113.5'),
    { host: '10.1.0.1', port: 5060 },
    'else the first',
  );
  const a = { transport: 'udp' as const, ip: '10.1.0.7', sips: false };
  const b = { transport: 'udp' as const, ip: '10.2.0.7', sips: false };
  t.deepEqual(recordRoutes(own, a, { ...a, ip: '10.1.0.8' }), ['<sip:10.1.0.1:5060;lr>']);
  t.deepEqual(recordRoutes(own, a, b), [
    '<sip:10.2.0.1:5060;lr;r2=on>',
    '<sip:10.1.0.1:5060;lr;r2=on>',
  ]);
  t.deepEqual(recordRoutes(own, { ...a, transport: 'tls', sips: true }, a), [
    '<sip:10.1.0.1:5060;lr;r2=on>',
    '<sips:10.1.0.1:5061;lr;r2=on>',
  ]);
});

/** An out-of-dialog request from alice to bob (no To tag). */
function request(method: string, o: { branch: string; callId?: string; extra?: string[] }) {
  return sipRequest(
    [
      `${method} sip:bob@tollgate SIP/2.0`,
      `Via: SIP/2.0/UDP 192.0.2.10:5070;branch=${o.branch};rport`,
      'Max-Forwards: 70',
      `From: ${FROM_ALICE}`,
      'To: <sip:bob@tollgate>',
      `Call-ID: ${o.callId ?? `${method}-1@192.0.2.10`}`,
      `CSeq: 1 ${method}`,
      'Contact: <sip:alice@192.0.2.10:5070>',
      ...(o.extra ?? []),
      'Content-Length: 0',
      '',
      '',
    ].join('\n'),
  );
}

/** `request` with alice's answer to the 407 it gets first. */
function authenticatedRequest(
  s: ReturnType<typeof setup>,
  method: string,
  o: { branch: string; callId?: string; extra?: string[] },
): SipRequest {
  s.h.layer.receive(request(method, { ...o, branch: `${o.branch}-c` }), ALICE_AT);
  const challenge = s.last(ALICE_AT) as SipResponse;
  if (challenge.status !== 407) throw new Error(`expected 407, got ${challenge.status}`);
  const c = challenges(challenge.headerValues('proxy-authenticate')).find(
    (x) => x.algorithm === 'MD5',
  )!;
  return request(method, {
    ...o,
    extra: [
      ...(o.extra ?? []),
      `Proxy-Authorization: ${authorization(c, ALICE, { method, uri: 'sip:bob@tollgate' })}`,
    ],
  });
}

test('OPTIONS and MESSAGE for a registered user reach its phone after the same 407 as a call; the answer comes back', (t) => {
  const s = setup(t);
  for (const method of ['OPTIONS', 'MESSAGE', 'INFO']) {
    s.h.layer.receive(authenticatedRequest(s, method, { branch: `z9hG4bK${method}` }), ALICE_AT);
    const fwd = s.last(BOB_AT) as SipRequest;
    t.is(fwd.method, method, `${method} forwarded to bob`);
    t.is(fwd.uriText, BOB_CONTACT);
    t.is(fwd.header('max-forwards'), '69');
    t.false(fwd.has('proxy-authorization'));
    t.false(fwd.has('record-route'), `${method} starts no dialog: not record-routed`);
    s.h.layer.receive(answer(fwd, 200), BOB_AT);
    const back = s.last(ALICE_AT) as SipResponse;
    t.is(back.status, 200);
    t.is(back.cseq().method, method);
    t.is(back.via().length, 1);
  }
  t.false(
    s.reports.some((r) => r.kind === 'call-start'),
    'not counted as calls',
  );
  t.is(s.proxy.stats.calls, 0);
});

test('a MESSAGE for someone not registered: 480 for an account, 404 for nobody; unauthenticated callers are challenged', (t) => {
  const s = setup(t);
  s.h.layer.receive(request('MESSAGE', { branch: 'z9hG4bKm1' }), ALICE_AT);
  t.is((s.last(ALICE_AT) as SipResponse).status, 407, 'From names one of ours: prove it');
  s.bindings.removeAll('bob');
  s.h.layer.receive(authenticatedRequest(s, 'MESSAGE', { branch: 'z9hG4bKm2' }), ALICE_AT);
  t.is((s.last(ALICE_AT) as SipResponse).status, 480);
});

test('SUBSCRIBE is record-routed and its dialog kept: a NOTIFY ahead of the 2xx reaches the subscriber', (t) => {
  const s = setup(t);
  s.h.layer.receive(
    authenticatedRequest(s, 'SUBSCRIBE', {
      branch: 'z9hG4bKsub',
      callId: 'sub-1',
      extra: ['Event: presence', 'Expires: 600'],
    }),
    ALICE_AT,
  );
  const fwd = s.last(BOB_AT) as SipRequest;
  t.is(fwd.method, 'SUBSCRIBE');
  t.deepEqual(fwd.headerValues('record-route'), ['<sip:192.0.2.1:5060;lr>']);
  t.is(s.proxy.stats.subscriptions, 1);
  // bob's NOTIFY comes before his 2xx (RFC 6665 §4.1.2.4), with his tag.
  const notify = inDialog('NOTIFY', {
    from: '<sip:bob@tollgate>;tag=bob-tag',
    to: FROM_ALICE,
    cseq: 1,
    branch: 'z9hG4bKn1',
    callId: 'sub-1',
  });
  s.h.layer.receive(notify, BOB_AT);
  const n = s.last(ALICE_AT) as SipRequest;
  t.is(n.method, 'NOTIFY');
  t.false(n.has('route'), 'our Route entry is removed');
  s.h.layer.receive(answer(n, 200, 'alice-tag'), ALICE_AT);
  t.is((s.last(BOB_AT) as SipResponse).status, 200);
  s.h.layer.receive(answer(fwd, 200), BOB_AT);
  t.is((s.last(ALICE_AT) as SipResponse).status, 200);
  t.is(s.proxy.stats.calls, 0, 'a subscription is not a call');
  t.false(s.reports.some((r) => r.kind === 'call-end'));
});

test('admission is an ordered list of named steps; the INVITE list adds the call limits to the request list', (t) => {
  t.deepEqual(
    REQUEST_STEPS.map((s) => s.name),
    [
      'notLooped',
      'domainServed',
      'callerIdentity',
      'transportAllowed',
      'callerIdAllowed',
      'routedHere',
      'calleeKnown',
    ],
  );
  t.deepEqual(INVITE_STEPS.map((s) => s.name).slice(REQUEST_STEPS.length - 2), [
    'inviteTargets',
    'callTableRoom',
    'pendingSessionLimit',
    'guardVerdict',
    'sessionIntervalAllowed',
    'callAuthorized',
  ]);
});

test('RFC 5626: a callee registered with outbound is reached over its flow only; a flow gone gives 430 Flow Failed', (t) => {
  const s = setup(t);
  const flow = { transport: 'tcp' as const, ip: '198.51.100.20', port: 40001 };
  s.bindings.removeAll('bob');
  s.bindings.upsert({
    aor: 'bob',
    contact: 'sip:bob@10.1.1.5:5060;transport=tcp;ob',
    expiresAt: s.wall.now() + 3600_000,
    q: -1,
    callId: 'reg-bob-ob',
    cseq: 1,
    ...flow,
    connectionId: 'tcp-44',
    instance: '<urn:uuid:1>',
    regId: 1,
  });
  s.openFlows.add('tcp-44');
  s.h.layer.receive(authenticatedInvite(s, { branch: 'z9hG4bKob1', callId: 'ob-1' }), ALICE_AT);
  const sent = s.sentTo(flow).at(-1)!;
  t.is((sent.message as SipRequest).method, 'INVITE');
  t.is((sent.dest as { connectionId?: string }).connectionId, 'tcp-44', 'over the flow');

  s.openFlows.delete('tcp-44');
  const before = s.sentTo(flow).length;
  s.h.layer.receive(authenticatedInvite(s, { branch: 'z9hG4bKob2', callId: 'ob-2' }), ALICE_AT);
  const res = s.last(ALICE_AT) as SipResponse;
  t.is(res.status, 430);
  t.is(res.reason, 'Flow Failed');
  t.is(s.sentTo(flow).length, before, 'no connection is attempted towards the NAT');
});

test('a TCP caller whose connection closed is reached over the connection it registered since (same phone, new flow)', (t) => {
  const s = setup(t);
  const aliceOld = {
    transport: 'tcp' as const,
    ip: '192.0.2.10',
    port: 50001,
    connectionId: 'tcp-a1',
  };
  s.openFlows.add('tcp-a1');
  s.h.layer.receive(authenticatedInvite(s, { branch: 'z9hG4bKre' }), aliceOld);
  const fwd = s.last(BOB_AT) as SipRequest;
  s.h.layer.receive(answer(fwd, 200), BOB_AT);
  // alice's NAT dropped the connection; her phone reconnected and registered again.
  s.openFlows.delete('tcp-a1');
  s.openFlows.add('tcp-a2');
  s.bindings.upsert({
    aor: 'alice',
    contact: 'sip:alice@10.0.0.9:5060;transport=tcp;ob',
    expiresAt: s.wall.now() + 3600_000,
    q: -1,
    callId: 'reg-alice',
    cseq: 1,
    transport: 'tcp',
    ip: '192.0.2.10',
    port: 50002,
    connectionId: 'tcp-a2',
    instance: '<urn:uuid:2>',
    regId: 1,
  });
  s.h.layer.receive(
    inDialog('BYE', { from: FROM_BOB, to: TO_ALICE, cseq: 1, branch: 'z9hG4bKbyere' }),
    BOB_AT,
  );
  const sent = s.h.sent.at(-1)!;
  t.is((sent.message as SipRequest).method, 'BYE');
  t.like(sent.dest, { transport: 'tcp', port: 50002 });
  t.is((sent.dest as { connectionId?: string }).connectionId, 'tcp-a2');
});

/** A first call authenticated on a fresh nonce, then a second call on the same nonce (nc 2). */
function secondCallOnTheSameNonce(s: ReturnType<typeof setup>): SipResponse | undefined {
  s.h.layer.receive(invite({ branch: 'z9hG4bKnc-c' }), ALICE_AT);
  const c = challenges((s.last(ALICE_AT) as SipResponse).headerValues('proxy-authenticate'))[0]!;
  const uri = 'sip:bob@tollgate';
  const withNc = (nc: number, callId: string, branch: string) =>
    invite({
      callId,
      branch,
      cseq: 2,
      extra: [`Proxy-Authorization: ${authorization(c, ALICE, { method: 'INVITE', uri }, { nc })}`],
    });
  s.h.layer.receive(withNc(1, 'call-1@192.0.2.10', 'z9hG4bKnc1'), ALICE_AT);
  const forwarded = s.sentTo(BOB_AT).length;
  s.h.layer.receive(withNc(2, 'call-2@192.0.2.10', 'z9hG4bKnc2'), ALICE_AT);
  if (s.sentTo(BOB_AT).length > forwarded) return undefined; // the second call went through
  return s.last(ALICE_AT) as SipResponse;
}

test('cacheregistrations: at 1 a second INVITE rides on the nonce; at 0 it is challenged afresh', (t) => {
  t.is(secondCallOnTheSameNonce(setup(t)), undefined, 'default: forwarded to bob');
  const refused = secondCallOnTheSameNonce(setup(t, { cacheregistrations: 0 }));
  t.is(refused?.status, 407);
  t.true(challenges(refused!.headerValues('proxy-authenticate'))[0]!.stale);
});

test("authtype: the 407 offers the caller's own algorithms", (t) => {
  const s = setup(t);
  s.users.set('alice', 'authtype', '2');
  s.h.layer.receive(invite(), ALICE_AT);
  const res = s.last(ALICE_AT) as SipResponse;
  t.is(res.status, 407);
  t.deepEqual(
    challenges(res.headerValues('proxy-authenticate')).map((c) => c.algorithm),
    ['SHA-256', 'SHA-512-256'],
  );
});
