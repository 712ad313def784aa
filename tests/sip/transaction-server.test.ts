// Server transactions (RFC 3261 §17.2, RFC 6026 §7.1) on a fake clock.
import test from 'ava';
import { createResponse } from '../../src/sip/message/index.ts';
import { challengeTag, isChallengeTag } from '../../src/sip/transaction/index.ts';
import {
  harness,
  request,
  requestText,
  sipRequest,
  TCP_PEER,
  UDP_PEER,
} from '../helpers/transaction-harness.ts';

const TAG = 'srv-tag-1';

/** What the server sent, as "status" strings, with the fake-clock instant of each. */
function timeline(h: ReturnType<typeof harness>): string[] {
  return h.sent.map(({ at, message: m }) =>
    m.kind === 'response' ? `${at} ${m.status}` : `${at} ${m.method}`,
  );
}

function inviteAck(branch = 'z9hG4bKa1b2c3', toTag = TAG) {
  return request({ method: 'ACK', branch, toTag, cseqMethod: 'ACK' });
}

test('non-INVITE over UDP: the TU sees one request; retransmissions are absorbed, then get the final again', (t) => {
  const h = harness();
  const reg = request();
  h.layer.receive(reg, UDP_PEER);
  h.layer.receive(request(), UDP_PEER); // retransmission while Trying: absorbed silently
  t.is(h.requests.length, 1);
  t.deepEqual(h.sent, []);
  t.is(h.requests[0]!.tx.state, 'trying');

  h.clock.advance(300);
  t.true(h.requests[0]!.tx.respond(createResponse(reg, 200, 'OK', { toTag: TAG })));
  t.is(h.requests[0]!.tx.state, 'completed');
  h.clock.advance(700);
  h.layer.receive(request(), UDP_PEER);
  h.layer.receive(request(), UDP_PEER);
  t.deepEqual(timeline(h), ['300 200', '1000 200', '1000 200']);
  // Resent byte for byte the same response, to where the request came from.
  const first = h.sent[0]!.message;
  const again = h.sent[2]!.message;
  t.is(again.header('to'), first.header('to'));
  t.is(again.header('via'), 'SIP/2.0/UDP 192.0.2.10:5060;branch=z9hG4bKa1b2c3;rport');
  t.deepEqual(h.sent[2]!.dest, UDP_PEER);
  t.is(h.requests.length, 1, 'retransmissions never reach the TU');
  t.is(h.layer.stats.matched, 3);
});

test('non-INVITE: Timer J (64·T1) ends the Completed state and empties the table', (t) => {
  const h = harness();
  h.layer.receive(request(), UDP_PEER);
  const { tx, req } = h.requests[0]!;
  tx.respond(createResponse(req, 200, 'OK', { toTag: TAG }));
  h.clock.advance(31_999);
  t.is(h.layer.size, 1);
  h.clock.advance(1);
  t.is(tx.state, 'terminated');
  t.is(h.layer.size, 0);
  t.is(h.clock.pending, 0, 'no timer outlives the transaction');
  t.deepEqual(
    h.ends.map((e) => e.reason),
    ['done'],
  );
  // A late retransmission is now a new request for the TU (the client gave up long ago).
  h.layer.receive(request(), UDP_PEER);
  t.is(h.requests.length, 2);
});

test('non-INVITE challenged 401/407: nothing is kept (stateless UAS, RFC 3261 §8.2.7); a retransmission is challenged again', (t) => {
  for (const status of [401, 407]) {
    const h = harness();
    h.layer.receive(request(), UDP_PEER);
    const { tx, req } = h.requests[0]!;
    t.true(tx.respond(createResponse(req, status, 'Challenge', { toTag: TAG })));
    t.is(tx.state, 'terminated');
    t.is(h.layer.size, 0, 'a flood of unauthenticated requests leaves no transactions');
    t.is(h.clock.pending, 0, 'and no timers');
    t.deepEqual(
      h.ends.map((e) => e.reason),
      ['done'],
    );
    h.layer.receive(request(), UDP_PEER);
    t.is(h.requests.length, 2, 'the retransmission goes to the TU, which challenges it anew');
  }
  // Any other final response still waits out retransmissions for Timer J.
  const h = harness();
  h.layer.receive(request(), UDP_PEER);
  const { tx, req } = h.requests[0]!;
  tx.respond(createResponse(req, 403, 'Forbidden', { toTag: TAG }));
  t.is(tx.state, 'completed');
  h.layer.receive(request(), UDP_PEER);
  t.is(h.requests.length, 1);
  t.deepEqual(timeline(h), ['0 403', '0 403']);
});

test('INVITE challenged 407/401 with a challenge tag: sent once, no Timer G/H/I, nothing kept; a retransmission is challenged again (RFC 3261 §8.2.7)', (t) => {
  for (const status of [407, 401]) {
    const h = harness();
    h.layer.receive(request({ method: 'INVITE' }), UDP_PEER);
    const { tx, req } = h.requests[0]!;
    const tag = challengeTag();
    t.true(isChallengeTag(tag));
    t.true(tx.respond(createResponse(req, status, 'Challenge', { toTag: tag })));
    t.is(tx.state, 'terminated');
    t.is(h.layer.size, 0, 'no INVITE transaction waits for the ACK');
    t.is(h.clock.pending, 0, 'no Timer G, H or I (nor 100 Trying or Timer C)');
    t.deepEqual(
      h.ends.map((e) => e.reason),
      ['done'],
    );
    // Past every INVITE timer (64·T1): the challenge went out once.
    h.clock.advance(40_000);
    t.deepEqual(timeline(h), [`0 ${status}`]);
    // The retransmitted INVITE (the challenge lost) is a new request: challenged anew.
    h.layer.receive(request({ method: 'INVITE' }), UDP_PEER);
    t.is(h.requests.length, 2);
    const again = h.requests[1]!;
    again.tx.respond(createResponse(again.req, status, 'Challenge', { toTag: challengeTag() }));
    t.deepEqual(timeline(h), [`0 ${status}`, `40000 ${status}`]);
    t.is(h.layer.size, 0);
  }
});

test('the ACK of a stateless challenge is dropped by its tag, before matching and never to the TU, Route or not', (t) => {
  const h = harness();
  h.layer.receive(request({ method: 'INVITE' }), UDP_PEER);
  const { tx, req } = h.requests[0]!;
  const tag = challengeTag();
  tx.respond(createResponse(req, 407, 'Proxy Authentication Required', { toTag: tag }));
  h.layer.receive(inviteAck('z9hG4bKa1b2c3', tag), UDP_PEER);
  h.layer.receive(
    request({
      method: 'ACK',
      toTag: tag,
      cseqMethod: 'ACK',
      extra: ['Route: <sip:203.0.113.9:5060;lr>'],
    }),
    UDP_PEER,
  );
  // Another branch, another Call-ID: the tag alone decides (an RFC 2543 ACK as well).
  h.layer.receive(
    request({ method: 'ACK', branch: null, toTag: challengeTag(), cseqMethod: 'ACK' }),
    UDP_PEER,
  );
  t.deepEqual(h.acks, [], 'nothing reaches the TU (the proxy would route it)');
  t.is(h.layer.stats.challengeAcks, 3);
  t.is(h.layer.stats.matched, 0);
  t.is(h.layer.stats.acksToTu, 0);
  t.is(h.layer.size, 0);
  // An ACK with any other tag that matches no transaction still goes to the TU, which routes
  // only the ACK of a 2xx of a dialog it knows (in-dialog.ts).
  h.layer.receive(inviteAck('z9hG4bKother', 'not-ours'), UDP_PEER);
  t.is(h.acks.length, 1);
  t.false(isChallengeTag('not-ours'));
  t.false(isChallengeTag(`${tag}x`), 'the length is part of the form');
  t.false(isChallengeTag(undefined));
});

test('an INVITE challenged with a tag of its own stays stateful: Timer G resends, its ACK is absorbed in Confirmed', (t) => {
  const h = harness();
  h.layer.receive(request({ method: 'INVITE' }), UDP_PEER);
  const { tx, req } = h.requests[0]!;
  tx.respond(createResponse(req, 407, 'Proxy Authentication Required', { toTag: TAG }));
  t.is(tx.state, 'completed');
  h.clock.advance(600);
  h.layer.receive(inviteAck(), UDP_PEER);
  t.is(tx.state, 'confirmed');
  t.deepEqual(timeline(h), ['0 407', '500 407']);
  t.deepEqual(h.acks, []);
  // Any other final (403, 486…) to an INVITE is stateful as before (the tests below).
});

test('a flood of INVITEs without credentials leaves no transaction and no timer behind; CANCEL of one finds nothing', (t) => {
  const h = harness({
    onRequest: (tx, req) => {
      if (req.method === 'INVITE')
        tx.respond(
          createResponse(req, 407, 'Proxy Authentication Required', { toTag: challengeTag() }),
        );
    },
  });
  for (let i = 0; i < 2000; i++) {
    h.layer.receive(
      request({ method: 'INVITE', branch: `z9hG4bKflood${i}`, callId: `flood-${i}` }),
      UDP_PEER,
    );
  }
  t.is(h.sent.length, 2000);
  t.is(h.layer.size, 0);
  t.is(h.layer.stats.server, 0);
  t.is(h.clock.pending, 0);
  const cancel = request({ method: 'CANCEL', branch: 'z9hG4bKflood7', callId: 'flood-7' });
  t.is(h.layer.findInviteFor(cancel), undefined, '§9.2: the TU answers such a CANCEL 481');
});

test('non-INVITE: a provisional moves to Proceeding and retransmissions get it again; a second final is discarded', (t) => {
  const h = harness();
  h.layer.receive(request({ method: 'OPTIONS' }), UDP_PEER);
  const { tx, req } = h.requests[0]!;
  t.true(tx.respond(createResponse(req, 183, 'Session Progress', { toTag: TAG })));
  t.is(tx.state, 'proceeding');
  h.layer.receive(request({ method: 'OPTIONS' }), UDP_PEER);
  t.true(tx.respond(createResponse(req, 200, 'OK', { toTag: TAG })));
  t.false(tx.respond(createResponse(req, 500, 'Late', { toTag: TAG })), '§17.2.2: discarded');
  t.deepEqual(h.lines(), ['183 Session Progress', '183 Session Progress', '200 OK']);
});

test('non-INVITE over TCP: Timer J is zero, the transaction ends with the final response', (t) => {
  const h = harness();
  h.layer.receive(request({ transport: 'TCP' }), TCP_PEER);
  const { tx, req } = h.requests[0]!;
  tx.respond(createResponse(req, 200, 'OK', { toTag: TAG }));
  t.is(tx.state, 'terminated');
  t.is(h.layer.size, 0);
  t.is(h.clock.pending, 0);
  t.deepEqual(h.sent[0]!.dest, TCP_PEER);
});

test('INVITE: 100 Trying after 200 ms when the TU has not answered, without a To tag', (t) => {
  const h = harness();
  h.layer.receive(request({ method: 'INVITE', extra: ['Timestamp: 54'] }), UDP_PEER);
  h.clock.advance(199);
  t.deepEqual(h.sent, []);
  h.clock.advance(1);
  t.deepEqual(timeline(h), ['200 100']);
  const trying = h.sent[0]!.message;
  t.is(trying.to().tag, undefined, '§17.2.1: no To tag in 100');
  t.is(trying.header('timestamp'), '54', '§8.2.6.1: Timestamp copied');
  t.is(trying.cseq().method, 'INVITE');
  // An INVITE retransmission is answered with the latest provisional.
  h.layer.receive(request({ method: 'INVITE', extra: ['Timestamp: 54'] }), UDP_PEER);
  t.deepEqual(timeline(h), ['200 100', '200 100']);
});

test('INVITE: no 100 Trying when the TU answers within 200 ms', (t) => {
  const h = harness();
  h.layer.receive(request({ method: 'INVITE' }), UDP_PEER);
  h.clock.advance(150);
  const { tx, req } = h.requests[0]!;
  tx.respond(createResponse(req, 180, 'Ringing', { toTag: TAG }));
  h.clock.advance(1000);
  t.deepEqual(timeline(h), ['150 180']);
});

test('INVITE 486 over UDP: Timer G resends at T1, 2T1, 4T1 then every T2; Timer H ends it and tells the TU', (t) => {
  const h = harness();
  h.layer.receive(request({ method: 'INVITE' }), UDP_PEER);
  const { tx, req } = h.requests[0]!;
  tx.respond(createResponse(req, 486, 'Busy Here', { toTag: TAG }));
  t.is(tx.state, 'completed');
  h.clock.advance(40_000);
  // Sent at 0, then G fires at 500, 1500, 3500, 7500 and every 4 s, until H at 64·T1 = 32 s.
  t.deepEqual(
    h.sent.map((s) => s.at),
    [0, 500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500],
  );
  t.true(h.sent.every((s) => s.message.kind === 'response' && s.message.status === 486));
  t.is(tx.state, 'terminated');
  t.deepEqual(
    h.ends.map((e) => e.reason),
    ['timeout'],
  );
  t.is(h.layer.size, 0);
  t.is(h.clock.pending, 0);
});

test('INVITE 486: the ACK confirms, stops retransmissions, and Timer I (T4) absorbs ACK copies', (t) => {
  const h = harness();
  h.layer.receive(request({ method: 'INVITE' }), UDP_PEER);
  const { tx, req } = h.requests[0]!;
  tx.respond(createResponse(req, 486, 'Busy Here', { toTag: TAG }));
  h.clock.advance(600); // one retransmission at 500
  h.layer.receive(request({ method: 'INVITE' }), UDP_PEER); // INVITE again: 486 again
  h.layer.receive(inviteAck(), UDP_PEER);
  t.is(tx.state, 'confirmed');
  t.is(tx.lastResponse, undefined, 'the 486 is not kept for the 5 s of Timer I');
  t.true(tx.responded);
  h.layer.receive(inviteAck(), UDP_PEER); // ACK retransmission: absorbed
  h.layer.receive(request({ method: 'INVITE' }), UDP_PEER); // late INVITE copy: absorbed
  h.clock.advance(4999);
  t.is(tx.state, 'confirmed');
  h.clock.advance(1);
  t.is(tx.state, 'terminated');
  t.deepEqual(timeline(h), ['0 486', '500 486', '600 486']);
  t.deepEqual(h.acks, [], 'the ACK of a non-2xx belongs to the transaction, not the TU');
  t.deepEqual(
    h.ends.map((e) => e.reason),
    ['done'],
  );
  t.is(h.layer.size, 0);
  t.is(h.clock.pending, 0);
});

test('INVITE 486 over TCP: no Timer G; the ACK ends it at once (Timer I = 0); without ACK Timer H still runs', (t) => {
  const h = harness();
  h.layer.receive(request({ method: 'INVITE', transport: 'TCP' }), TCP_PEER);
  h.layer.receive(
    request({ method: 'INVITE', transport: 'TCP', branch: 'z9hG4bKother' }),
    TCP_PEER,
  );
  const [a, b] = h.requests;
  a!.tx.respond(createResponse(a!.req, 486, 'Busy Here', { toTag: TAG }));
  b!.tx.respond(createResponse(b!.req, 486, 'Busy Here', { toTag: TAG }));
  h.layer.receive(
    request({ method: 'ACK', transport: 'TCP', toTag: TAG, cseqMethod: 'ACK' }),
    TCP_PEER,
  );
  t.is(a!.tx.state, 'terminated');
  h.clock.advance(31_999);
  t.is(h.sent.length, 2, 'no retransmission over TCP');
  t.is(b!.tx.state, 'completed');
  h.clock.advance(1);
  t.deepEqual(
    h.ends.map((e) => e.reason),
    ['done', 'timeout'],
  );
  t.is(h.layer.size, 0);
});

test('INVITE 200 (RFC 6026 Accepted): INVITE copies are absorbed, the TU may resend 2xx, ACK goes to the TU, Timer L ends it', (t) => {
  const h = harness();
  h.layer.receive(request({ method: 'INVITE' }), UDP_PEER);
  const { tx, req } = h.requests[0]!;
  const ok = createResponse(req, 200, 'OK', { toTag: TAG });
  tx.respond(ok);
  t.is(tx.state, 'accepted');
  t.is(tx.lastResponse, undefined, 'the 2xx is not kept for the 32 s of Timer L');
  t.true(tx.responded);
  h.layer.receive(request({ method: 'INVITE' }), UDP_PEER);
  t.is(
    h.requests.length,
    1,
    'a retransmitted INVITE is not a new call (the RFC 3261 bug 6026 fixes)',
  );
  t.is(h.sent.length, 1, 'and the transaction itself does not resend the 2xx');
  h.clock.advance(500);
  t.true(tx.respond(ok), 'the TU retransmits its 2xx through the transaction (§13.3.1.4)');
  t.false(tx.respond(createResponse(req, 486, 'Busy Here', { toTag: TAG })));
  // The ACK of a 2xx has its own branch (§13.2.2.4): not this transaction, goes to the TU.
  h.layer.receive(inviteAck('z9hG4bKack2xx'), UDP_PEER);
  t.is(h.acks.length, 1);
  t.is(h.acks[0]!.tx, undefined);
  // An ACK that does match it (e.g. a UA reusing the branch) is passed on too, with the tx.
  h.layer.receive(inviteAck(), UDP_PEER);
  t.is(h.acks[1]!.tx, tx);
  h.clock.advance(31_499);
  t.is(tx.state, 'accepted');
  h.clock.advance(1);
  t.is(tx.state, 'terminated');
  t.deepEqual(timeline(h), ['0 200', '500 200']);
  t.is(h.layer.size, 0);
  t.is(h.clock.pending, 0);
});

test('a transport error while responding ends the transaction and informs the TU (§17.2.4)', (t) => {
  const h = harness();
  h.layer.receive(request({ method: 'INVITE' }), UDP_PEER);
  const { tx, req } = h.requests[0]!;
  h.failSends = true;
  t.false(tx.respond(createResponse(req, 486, 'Busy Here', { toTag: TAG })));
  t.is(tx.state, 'terminated');
  t.deepEqual(
    h.ends.map((e) => e.reason),
    ['transport-error'],
  );
  t.is(h.layer.size, 0);
  t.is(h.clock.pending, 0);
});

test('a TU that never answers cannot hold transactions: non-INVITE after 64·T1, INVITE after Timer C with a 408', (t) => {
  const h = harness();
  h.layer.receive(request(), UDP_PEER);
  h.layer.receive(request({ method: 'INVITE', branch: 'z9hG4bKinv' }), UDP_PEER);
  h.clock.advance(32_000);
  t.is(h.requests[0]!.tx.state, 'terminated');
  t.deepEqual(h.lines(), ['100 Trying'], 'the REGISTER ends silently');
  h.clock.advance(181_000);
  const last = h.sent.at(-1)!.message;
  t.true(last.kind === 'response' && last.status === 408);
  t.truthy(last.to().tag, 'a final response carries a To tag');
  h.layer.receive(inviteAck('z9hG4bKinv', last.to().tag), UDP_PEER);
  h.clock.runAll();
  t.deepEqual(
    h.ends.map((e) => e.reason),
    ['abandoned', 'abandoned'],
  );
  t.is(h.layer.size, 0);
});

test('a provisional from the TU restarts the INVITE bound (a long ringing call is fine)', (t) => {
  const h = harness();
  h.layer.receive(request({ method: 'INVITE' }), UDP_PEER);
  const { tx, req } = h.requests[0]!;
  for (let i = 0; i < 3; i++) {
    h.clock.advance(170_000);
    tx.respond(createResponse(req, 180, 'Ringing', { toTag: TAG }));
  }
  t.is(tx.state, 'proceeding');
  t.true(h.sent.every((s) => s.message.kind === 'response' && s.message.status < 200));
});

test('a throwing TU gets a 500 sent for it and the layer carries on', (t) => {
  const errors: unknown[] = [];
  const h = harness({
    onRequest: () => {
      throw new Error('registrar bug');
    },
    onError: (e) => errors.push(e),
  });
  h.layer.receive(request(), UDP_PEER);
  t.deepEqual(h.lines(), ['500 Server Internal Error']);
  t.is(h.layer.stats.tuErrors, 1);
  t.is((errors[0] as Error).message, 'registrar bug');
  h.layer.receive(request({ branch: 'z9hG4bKnext' }), UDP_PEER);
  t.is(h.requests.length, 2);
});

test('respond refuses a status that is not a response', (t) => {
  const h = harness();
  h.layer.receive(request(), UDP_PEER);
  const { tx, req } = h.requests[0]!;
  const bogus = createResponse(req, 200, 'OK');
  bogus.status = 99;
  t.throws(() => tx.respond(bogus), { message: /status 99/ });
});

test('a request text from the wire (RFC 3261 §24.2 style) runs through unchanged', (t) => {
  const h = harness();
  const text = requestText({ method: 'INVITE', extra: ['Contact: <sip:alice@pc33.example.com>'] });
  h.layer.receive(sipRequest(text), UDP_PEER);
  const { tx, req } = h.requests[0]!;
  tx.respond(createResponse(req, 603, 'Decline', { toTag: TAG }));
  const res = h.sent[0]!.message;
  t.is(res.callId(), 'a84b4c76e66710@pc33.example.com');
  t.is(res.from().tag, '1928301774');
  t.is(res.to().tag, TAG);
  t.deepEqual(res.cseq(), { seq: 1, method: 'INVITE' });
  t.false(res.has('contact'), 'only the §8.2.6.2 fields are copied');
});

test('the transaction holds the request until its final response, then only the response', (t) => {
  const h = harness();
  h.layer.receive(request({ method: 'INVITE' }), UDP_PEER);
  const { tx, req } = h.requests[0]!;
  t.is(tx.request, req);
  t.is(tx.method, 'INVITE');
  tx.respond(createResponse(req, 180, 'Ringing', { toTag: TAG }));
  t.is(tx.request, req, 'still open: the TU may answer from it');
  tx.respond(createResponse(req, 486, 'Busy Here', { toTag: TAG }));
  t.is(tx.request, undefined, 'Completed keeps only what it resends');
  t.is(tx.lastResponse?.status, 486);
  h.layer.receive(request({ method: 'INVITE' }), UDP_PEER);
  t.deepEqual(h.lines(), ['180 Ringing', '486 Busy Here', '486 Busy Here']);
});

test('a transport error reported after the send ends the server transaction too', (t) => {
  const h = harness();
  h.layer.receive(request({ method: 'INVITE', transport: 'TCP' }), TCP_PEER);
  const { tx, req } = h.requests[0]!;
  tx.respond(createResponse(req, 486, 'Busy Here', { toTag: TAG }));
  h.sent[0]!.fail(new Error('connection reset'));
  t.is(tx.state, 'terminated');
  t.deepEqual(
    h.ends.map((e) => e.reason),
    ['transport-error'],
  );
  t.is(h.layer.size, 0);
  t.is(h.clock.pending, 0);
});
