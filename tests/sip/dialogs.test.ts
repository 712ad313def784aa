// Dialog state, timers and teardown of calls through the proxy, on the transaction harness
// (fake clock, a transport that records what it would send): early / confirmed /
// terminated, proxy-initiated teardown (BYE both ways; CANCEL down and 487 up in setup),
// CallAccounting (authorize, answered, ended exactly once with the CDR fields), RFC 4028
// session timers (422, inserted interval, refresh, teardown), mediatimeout fed by the
// relay's reports, and no timer left behind once a call is over. The same behaviours with
// real SIPp phones through the daemon: tests/sip/calls-sipp.test.ts.
import { Writable } from 'node:stream';
import test, { type ExecutionContext } from 'ava';
import { Settings } from '../../src/config/settings.ts';
import { UserService } from '../../src/control/users.ts';
import { createLogger } from '../../src/log.ts';
import type {
  CallAccounting,
  CallDecision,
  CallEnded,
  CallRequest,
} from '../../src/policy-port.ts';
import { DigestAuthenticator } from '../../src/sip/auth/authenticator.ts';
import { NonceManager } from '../../src/sip/auth/nonce.ts';
import type { SipRequest, SipResponse } from '../../src/sip/message/index.ts';
import { OwnAddresses, SipProxy } from '../../src/sip/proxy/index.ts';
import { BindingStore } from '../../src/sip/registrar/bindings.ts';
import type { Endpoint } from '../../src/sip/transaction/index.ts';
import { Store } from '../../src/store/store.ts';
import { authorization, challenges } from '../helpers/sip-client.ts';
import { tempDir } from '../helpers/tmp.ts';
import { harness, sipRequest, sipResponse } from '../helpers/transaction-harness.ts';

const US = { transport: 'udp' as const, ip: '192.0.2.1', port: 5060 };
const ALICE_AT: Endpoint = { transport: 'udp', ip: '192.0.2.10', port: 5070 };
const BOB_AT: Endpoint = { transport: 'udp', ip: '198.51.100.20', port: 40000 };
const BOB_CONTACT = 'sip:bob@10.1.1.5:5060';
const ALICE = { user: 'alice', password: 'Wonder-land-42' };
const FROM_ALICE = '<sip:alice@tollgate>;tag=alice-tag';
const TO_BOB = '<sip:bob@tollgate>;tag=bob-tag';
/** Longer than any transaction lives (Timer B/F/H/J = 64*T1): only call timers are left. */
const TRANSACTIONS_GONE = 64 * 500 + 5_000;

/** A CallAccounting that records what it is told and answers what the test says. */
class TestAccounting implements CallAccounting {
  decision: CallDecision = { allow: true, maxDurationSeconds: undefined };
  onAnswer: number | undefined = undefined;
  readonly asked: CallRequest[] = [];
  readonly answers: string[] = [];
  readonly ends: CallEnded[] = [];
  authorize(call: CallRequest): CallDecision {
    this.asked.push(call);
    return this.decision;
  }
  answered(callId: string) {
    this.answers.push(callId);
    return { maxDurationSeconds: this.onAnswer };
  }
  ended(call: CallEnded): void {
    this.ends.push(call);
  }
  trunkUsable(): boolean {
    return true;
  }
}

function setup(t: ExecutionContext, config: Record<string, unknown> = {}) {
  const log = createLogger({ destination: new Writable({ write: (_c, _e, done) => done() }) });
  const store = Store.open(tempDir(t));
  t.teardown(() => store.close());
  const settings = new Settings(store, config, log);
  const users = new UserService(store, settings, log);
  users.add(ALICE.user, ALICE.password);
  users.add('bob', 'Build-it-77x');
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
  const accounting = new TestAccounting();
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
    calls: accounting,
    // Wall time follows the fake clock, so durations and timers agree.
    now: () => now + h.clock.now(),
    clock: h.clock,
  });
  const sentTo = (dest: Endpoint) =>
    h.sent.filter((s) => s.dest.ip === dest.ip && s.dest.port === dest.port);
  const last = (dest: Endpoint) => sentTo(dest).at(-1)!.message;
  const requestsTo = (dest: Endpoint, method: string) =>
    sentTo(dest)
      .map((s) => s.message)
      .filter((m): m is SipRequest => m.kind === 'request' && m.method === method);
  const responsesTo = (dest: Endpoint) =>
    sentTo(dest)
      .map((s) => s.message)
      .filter((m): m is SipResponse => m.kind === 'response');
  return { h, proxy, accounting, settings, sentTo, last, requestsTo, responsesTo };
}

type Setup = ReturnType<typeof setup>;

function invite(o: { callId: string; branch: string; cseq: number; extra?: string[] }) {
  return sipRequest(
    [
      'INVITE sip:bob@tollgate SIP/2.0',
      `Via: SIP/2.0/UDP 192.0.2.10:5070;branch=${o.branch};rport`,
      'Max-Forwards: 70',
      `From: ${FROM_ALICE}`,
      'To: <sip:bob@tollgate>',
      `Call-ID: ${o.callId}`,
      `CSeq: ${o.cseq} INVITE`,
      'Contact: <sip:alice@192.0.2.10:5070>',
      ...(o.extra ?? []),
      'Content-Length: 0',
      '',
      '',
    ].join('\n'),
  );
}

/** The 407 dance, then the authenticated INVITE is received; returns what bob got. */
function call(s: Setup, callId = 'call-1', extra: string[] = []): SipRequest | undefined {
  const branch = `z9hG4bK${callId.replace(/\W/g, '')}`;
  s.h.layer.receive(invite({ callId, branch: `${branch}c`, cseq: 1, extra }), ALICE_AT);
  const challenge = s.last(ALICE_AT) as SipResponse;
  const c = challenges(challenge.headerValues('proxy-authenticate')).find(
    (x) => x.algorithm === 'MD5',
  )!;
  const auth = `Proxy-Authorization: ${authorization(c, ALICE, { method: 'INVITE', uri: 'sip:bob@tollgate' })}`;
  const before = s.requestsTo(BOB_AT, 'INVITE').length;
  s.h.layer.receive(invite({ callId, branch, cseq: 2, extra: [...extra, auth] }), ALICE_AT);
  return s.requestsTo(BOB_AT, 'INVITE').slice(before).at(-1);
}

function answer(req: SipRequest, status: number, extra: string[] = []): SipResponse {
  return sipResponse(
    [
      `SIP/2.0 ${status} X`,
      ...req.headerValues('via').map((v) => `Via: ${v}`),
      ...req.headerValues('record-route').map((v) => `Record-Route: ${v}`),
      `From: ${req.header('from')}`,
      `To: ${req.header('to')}${req.to().tag ? '' : ';tag=bob-tag'}`,
      `Call-ID: ${req.header('call-id')}`,
      `CSeq: ${req.header('cseq')}`,
      ...(status >= 200 && status < 300 ? [`Contact: <${BOB_CONTACT}>`] : []),
      ...extra,
      'Content-Length: 0',
      '',
      '',
    ].join('\n'),
  );
}

function answeredCall(s: Setup, callId = 'call-1', extra: string[] = [], okExtra: string[] = []) {
  const fwd = call(s, callId, extra)!;
  s.h.layer.receive(answer(fwd, 180), BOB_AT);
  s.h.layer.receive(answer(fwd, 200, okExtra), BOB_AT);
  return fwd;
}

function reInvite(s: Setup, cseq: number, extra: string[] = []): SipRequest {
  const req = sipRequest(
    [
      'INVITE sip:bob@10.1.1.5:5060 SIP/2.0',
      `Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bKre${cseq};rport`,
      'Route: <sip:192.0.2.1:5060;lr>',
      'Max-Forwards: 70',
      `From: ${FROM_ALICE}`,
      `To: ${TO_BOB}`,
      'Call-ID: call-1',
      `CSeq: ${cseq} INVITE`,
      'Contact: <sip:alice@192.0.2.10:5070>',
      ...extra,
      'Content-Length: 0',
      '',
      '',
    ].join('\n'),
  );
  s.h.layer.receive(req, ALICE_AT);
  return s.requestsTo(BOB_AT, 'INVITE').at(-1)!;
}

/** After the call: transactions die out; then no timer at all may be left on the clock. */
function noTimersLeft(t: ExecutionContext, s: Setup) {
  t.is(s.proxy.calls.liveTimers, 0, 'no call timer left');
  s.h.clock.advance(TRANSACTIONS_GONE);
  t.is(s.h.clock.pending, 0, 'nothing left on the clock');
  t.is(s.proxy.calls.table.size, 0);
}

test('a call is early until its 2xx, confirmed after, terminated by the BYE; accounting hears answer and end once', (t) => {
  const s = setup(t);
  const fwd = call(s)!;
  t.like(s.proxy.calls.list()[0], { id: 'call-1', state: 'early', account: 'alice' });
  s.h.layer.receive(answer(fwd, 180), BOB_AT);
  t.is(s.proxy.calls.list()[0]!.state, 'early');
  s.h.layer.receive(answer(fwd, 200), BOB_AT);
  t.like(s.proxy.calls.list()[0], { state: 'confirmed', callee: 'bob', route: 'local' });
  t.deepEqual(s.accounting.answers, ['call-1']);
  s.h.clock.advance(42_000);
  s.h.layer.receive(
    sipRequest(
      [
        'BYE sip:alice@192.0.2.10:5070 SIP/2.0',
        'Via: SIP/2.0/UDP 198.51.100.20:40000;branch=z9hG4bKbye1;rport',
        'Route: <sip:192.0.2.1:5060;lr>',
        'Max-Forwards: 70',
        `From: ${TO_BOB}`,
        `To: ${FROM_ALICE}`,
        'Call-ID: call-1',
        'CSeq: 1 BYE',
        'Content-Length: 0',
        '',
        '',
      ].join('\n'),
    ),
    BOB_AT,
  );
  const bye = s.requestsTo(ALICE_AT, 'BYE').at(-1)!;
  s.h.layer.receive(answer(bye, 200), ALICE_AT);
  t.is(s.accounting.ends.length, 1);
  t.like(s.accounting.ends[0], {
    callId: 'call-1',
    account: 'alice',
    accountKind: 'user',
    callerId: 'alice',
    dialled: 'bob',
    destination: 'local',
    durationSeconds: 42,
    disconnectSide: 'callee',
    reason: 'BYE',
    status: 200,
  });
  const ended = s.accounting.ends[0]!;
  t.true(ended.answeredAt! >= ended.startedAt && ended.endedAt - ended.answeredAt! === 42_000);
  noTimersLeft(t, s);
});

test('a refused INVITE (486) ends the call once, disconnect side callee, its status kept', (t) => {
  const s = setup(t);
  const fwd = call(s)!;
  s.h.layer.receive(answer(fwd, 486), BOB_AT);
  t.is((s.last(ALICE_AT) as SipResponse).status, 486);
  t.is(s.accounting.ends.length, 1);
  t.like(s.accounting.ends[0], {
    disconnectSide: 'callee',
    status: 486,
    answeredAt: undefined,
    durationSeconds: 0,
  });
  noTimersLeft(t, s);
});

test('the caller CANCELs: ended once with disconnect side caller and 487', (t) => {
  const s = setup(t);
  const fwd = call(s)!;
  s.h.layer.receive(answer(fwd, 180), BOB_AT);
  s.h.layer.receive(
    sipRequest(
      [
        'CANCEL sip:bob@tollgate SIP/2.0',
        'Via: SIP/2.0/UDP 192.0.2.10:5070;branch=z9hG4bKcall1;rport',
        'Max-Forwards: 70',
        `From: ${FROM_ALICE}`,
        'To: <sip:bob@tollgate>',
        'Call-ID: call-1',
        'CSeq: 2 CANCEL',
        'Content-Length: 0',
        '',
        '',
      ].join('\n'),
    ),
    ALICE_AT,
  );
  t.is(s.requestsTo(BOB_AT, 'CANCEL').length, 1);
  s.h.layer.receive(answer(fwd, 487), BOB_AT);
  t.like(s.accounting.ends, [{ disconnectSide: 'caller', reason: 'CANCEL', status: 487 }]);
  noTimersLeft(t, s);
});

test('policy refuses a call: the caller gets its status and reason, ended() is told once with the rule', (t) => {
  const s = setup(t);
  s.accounting.decision = {
    allow: false,
    status: 402,
    reason: 'Payment Required',
    rule: 'quotadiscreason',
  };
  t.is(call(s), undefined, 'nothing reaches the callee');
  const res = s.last(ALICE_AT) as SipResponse;
  t.is(res.status, 402);
  t.is(res.reason, 'Payment Required');
  t.like(s.accounting.ends, [
    { callId: 'call-1', disconnectSide: 'proxy', reason: 'quotadiscreason', status: 402 },
  ]);
  t.is(s.proxy.calls.table.size, 0);
});

test('maxDurationSeconds from policy: the call is cut with a BYE to each end; ended() names the proxy and the rule', (t) => {
  const s = setup(t, { absolutetimeout: 3600 });
  s.accounting.decision = { allow: true, maxDurationSeconds: 90, rule: 'credit' };
  answeredCall(s);
  s.h.clock.advance(89_000);
  t.is(s.requestsTo(BOB_AT, 'BYE').length + s.requestsTo(ALICE_AT, 'BYE').length, 0);
  s.h.clock.advance(1_000);
  const toBob = s.requestsTo(BOB_AT, 'BYE');
  const toAlice = s.requestsTo(ALICE_AT, 'BYE');
  t.is(toBob.length, 1);
  t.is(toAlice.length, 1);
  t.is(toBob[0]!.from().tag, 'alice-tag', "to bob, as alice's end of the dialog");
  t.is(toAlice[0]!.from().tag, 'bob-tag');
  t.like(s.accounting.ends, [
    { disconnectSide: 'proxy', reason: 'credit', status: 200, durationSeconds: 90 },
  ]);
  t.is(s.proxy.calls.table.size, 0);
  noTimersLeft(t, s);
});

test('answered() may shorten the call: the shorter maximum wins', (t) => {
  const s = setup(t);
  s.accounting.decision = { allow: true, maxDurationSeconds: 600 };
  s.accounting.onAnswer = 30;
  answeredCall(s);
  s.h.clock.advance(30_000);
  t.is(s.requestsTo(BOB_AT, 'BYE').length, 1);
  t.like(s.accounting.ends, [{ disconnectSide: 'proxy', reason: 'maxDurationSeconds' }]);
});

test('hangup by the admin: a confirmed call gets BYE both ways; one in setup gets CANCEL down and 487 up', (t) => {
  const s = setup(t);
  answeredCall(s, 'up-1');
  const ringing = call(s, 'ringing-1')!;
  s.h.layer.receive(answer(ringing, 180), BOB_AT);
  t.deepEqual(
    s.proxy.calls
      .list()
      .map((c) => [c.id, c.state])
      .sort(),
    [
      ['ringing-1', 'early'],
      ['up-1', 'confirmed'],
    ],
  );
  t.is(s.proxy.calls.hangup('no-such-call'), 0);
  t.is(s.proxy.calls.hangup('up-1'), 1);
  t.is(s.requestsTo(BOB_AT, 'BYE').length, 1);
  t.is(s.requestsTo(ALICE_AT, 'BYE').length, 1);
  t.is(s.proxy.calls.hangup({ all: true }), 1);
  t.is(s.requestsTo(BOB_AT, 'CANCEL').length, 1, 'the ringing callee is cancelled');
  const final = s.responsesTo(ALICE_AT).filter((r) => r.status >= 400 && r.status !== 407);
  t.deepEqual(
    final.map((r) => r.status),
    [487],
    'the caller gets its final answer at once',
  );
  s.h.layer.receive(answer(ringing, 487), BOB_AT); // the callee's answer to the CANCEL
  t.deepEqual(
    s.accounting.ends.map((e) => [e.callId, e.disconnectSide, e.reason, e.status]),
    [
      ['up-1', 'proxy', 'admin', 200],
      ['ringing-1', 'proxy', 'admin', 487],
    ],
  );
  t.deepEqual(s.proxy.calls.list(), []);
  noTimersLeft(t, s);
});

test('ringtimeout: CANCEL to the callee, 487 to the caller, ended by the proxy with the rule', (t) => {
  const s = setup(t, { ringtimeout: 20 });
  const fwd = call(s)!;
  s.h.layer.receive(answer(fwd, 180), BOB_AT);
  s.h.clock.advance(20_000);
  t.is(s.requestsTo(BOB_AT, 'CANCEL').length, 1);
  t.is((s.last(ALICE_AT) as SipResponse).status, 487);
  s.h.layer.receive(answer(fwd, 487), BOB_AT);
  t.like(s.accounting.ends, [{ disconnectSide: 'proxy', reason: 'ringtimeout', status: 487 }]);
  noTimersLeft(t, s);
});

test('callinittimeout: 408 to the caller, ended by the proxy', (t) => {
  const s = setup(t, { callinittimeout: 4 });
  call(s);
  s.h.clock.advance(4_000);
  t.is((s.last(ALICE_AT) as SipResponse).status, 408);
  t.like(s.accounting.ends, [{ disconnectSide: 'proxy', reason: 'callinittimeout', status: 408 }]);
  noTimersLeft(t, s);
});

test('mediatimeout: a call whose relay stops reporting media is torn down; reports keep it up; no relay, no timeout', (t) => {
  const s = setup(t, { mediatimeout: 30 });
  answeredCall(s, 'no-relay');
  s.h.clock.advance(120_000);
  t.is(s.proxy.calls.table.size, 1, 'no media ever reported (no relay): never timed out');
  answeredCall(s, 'relayed');
  t.true(s.proxy.calls.mediaActivity('relayed'));
  t.false(s.proxy.calls.mediaActivity('unknown-call'), 'the relay learns the call is gone');
  for (let i = 0; i < 5; i++) {
    s.h.clock.advance(20_000);
    t.true(s.proxy.calls.mediaActivity('relayed'));
  }
  t.true(
    s.proxy.calls.list().some((c) => c.id === 'relayed'),
    'kept up by the reports',
  );
  s.h.clock.advance(29_000);
  t.is(s.requestsTo(BOB_AT, 'BYE').length, 0);
  s.h.clock.advance(1_000);
  t.is(s.requestsTo(BOB_AT, 'BYE').length, 1);
  t.is(s.requestsTo(ALICE_AT, 'BYE').length, 1);
  t.like(s.accounting.ends, [
    { callId: 'relayed', disconnectSide: 'proxy', reason: 'mediatimeout' },
  ]);
  t.is(s.proxy.calls.hangup('no-relay'), 1);
  noTimersLeft(t, s);
});

test('mediatimeout 0 switches it off', (t) => {
  const s = setup(t, { mediatimeout: 0 });
  answeredCall(s);
  s.proxy.calls.mediaActivity('call-1');
  s.h.clock.advance(3600_000);
  t.is(s.proxy.calls.table.size, 1);
});

test('RFC 4028: an interval below minse is refused 422 with Min-SE when the caller supports timers', (t) => {
  const s = setup(t, { minse: 120 });
  const fwd = call(s, 'small', ['Supported: timer', 'Session-Expires: 100']);
  t.is(fwd, undefined);
  const res = s.last(ALICE_AT) as SipResponse;
  t.is(res.status, 422);
  t.is(res.header('min-se'), '120');
  // Without timer support a 422 would not be understood: the interval is raised instead.
  const raised = call(s, 'small-2', ['Session-Expires: 100'])!;
  t.is(raised.header('session-expires'), '120');
  t.is(raised.header('min-se'), '120');
});

test('RFC 4028: sessionexpires is asked for when the caller names none, and the 2xx sets the timer; a refresh keeps the call, none ends it', (t) => {
  const s = setup(t, { sessionexpires: 300 });
  const fwd = call(s, 'call-1', ['Supported: timer'])!;
  t.is(fwd.header('session-expires'), '300', 'inserted by the proxy');
  s.h.layer.receive(answer(fwd, 180), BOB_AT);
  // bob does not do timers: the proxy puts the interval in the 2xx for alice to refresh.
  s.h.layer.receive(answer(fwd, 200), BOB_AT);
  const ok = s.responsesTo(ALICE_AT).find((r) => r.status === 200)!;
  t.is(ok.header('session-expires'), '300;refresher=uac');
  t.is(ok.header('require'), 'timer');
  t.is(s.proxy.calls.list()[0]!.sessionExpires, 300);
  // A refresh at 150 s: the next deadline is 300 s after it.
  s.h.clock.advance(150_000);
  const re = reInvite(s, 3, ['Supported: timer', 'Session-Expires: 300;refresher=uac']);
  s.h.layer.receive(answer(re, 200, ['Session-Expires: 300;refresher=uac']), BOB_AT);
  s.h.clock.advance(299_000);
  t.is(s.requestsTo(BOB_AT, 'BYE').length, 0, 'refreshed: still up 449 s in');
  s.h.clock.advance(1_000);
  t.is(s.requestsTo(BOB_AT, 'BYE').length, 1, 'not refreshed again: torn down');
  t.is(s.requestsTo(ALICE_AT, 'BYE').length, 1);
  t.like(s.accounting.ends, [{ disconnectSide: 'proxy', reason: 'sessionexpires' }]);
  noTimersLeft(t, s);
});

test('RFC 4028: sessionexpires 0 asks for nothing; an interval the phones agree on still applies', (t) => {
  const s = setup(t, { sessionexpires: 0 });
  const plain = call(s, 'plain')!;
  t.false(plain.has('session-expires'));
  s.h.layer.receive(answer(plain, 200), BOB_AT);
  t.is(s.proxy.calls.list()[0]!.sessionExpires, undefined);
  const agreed = call(s, 'agreed', ['Supported: timer', 'Session-Expires: 120'])!;
  t.is(agreed.header('session-expires'), '120');
  s.h.layer.receive(answer(agreed, 200, ['Session-Expires: 120;refresher=uas']), BOB_AT);
  s.h.clock.advance(120_000);
  t.deepEqual(
    s.proxy.calls.list().map((c) => c.id),
    ['plain'],
    'the agreed session expired unrefreshed',
  );
});

test('a caller that lowers nothing: an interval above sessionexpires is lowered to it', (t) => {
  const s = setup(t, { sessionexpires: 600 });
  const fwd = call(s, 'long', ['Session-Expires: 7200;refresher=uac'])!;
  t.is(fwd.header('session-expires'), '600;refresher=uac');
});
