// Client transactions (RFC 3261 §17.1, RFC 6026 §7.2) on a fake clock.
import test from 'ava';
import type { SipRequest, SipResponse } from '../../src/sip/message/index.ts';
import {
  type ClientTransaction,
  type Endpoint,
  newBranch,
} from '../../src/sip/transaction/index.ts';
import { harness, request, sipResponse } from '../helpers/transaction-harness.ts';

const UDP_NEXT_HOP: Endpoint = { transport: 'udp', ip: '198.51.100.7', port: 5060 };
const TCP_NEXT_HOP: Endpoint = { transport: 'tcp', ip: '198.51.100.7', port: 5060 };
const OUR_BRANCH = 'z9hG4bKproxy1';

/** A request as our proxy would forward it: our Via on top with our branch. */
function outgoing(method: string, transport = 'UDP', extra: string[] = []): SipRequest {
  return request({
    method,
    branch: OUR_BRANCH,
    sentBy: '203.0.113.1:5060',
    transport,
    extra: ['Route: <sip:edge.example.com;lr>', ...extra],
  });
}

/** The peer's response to `req`, as text through the parser. */
function answer(req: SipRequest, status: number, reason: string, toTag = 'uas-9'): SipResponse {
  const vias = req.headerValues('via').map((v) => `Via: ${v}`);
  const tag = status === 100 ? '' : `;tag=${toTag}`;
  return sipResponse(
    [
      `SIP/2.0 ${status} ${reason}`,
      ...vias,
      `To: ${req.header('to')}${tag}`,
      `From: ${req.header('from')}`,
      `Call-ID: ${req.callId()}`,
      `CSeq: ${req.cseq().seq} ${req.cseq().method}`,
      'Content-Length: 0',
      '',
      '',
    ].join('\n'),
  );
}

function collect(): {
  seen: string[];
  onResponse: (r: SipResponse, tx: ClientTransaction) => void;
} {
  const seen: string[] = [];
  return { seen, onResponse: (r) => seen.push(`${r.status}`) };
}

test('non-INVITE over UDP: Timer E retransmits at 0.5, 1.5, 3.5, 7.5 s then every T2; Timer F gives the TU a 408', async (t) => {
  const h = harness();
  const tu = collect();
  const tx = h.layer.sendRequest(outgoing('REGISTER'), UDP_NEXT_HOP, tu);
  t.is(tx.state, 'trying');
  h.clock.advance(40_000);
  t.deepEqual(
    h.sent.map((s) => s.at),
    [0, 500, 1500, 3500, 7500, 11_500, 15_500, 19_500, 23_500, 27_500, 31_500],
  );
  t.true(h.sent.every((s) => s.message.kind === 'request' && s.message.method === 'REGISTER'));
  t.deepEqual(h.sent[0]!.dest, UDP_NEXT_HOP);
  const final = await tx.done;
  t.is(final.status, 408);
  t.is(tx.outcome, 'timeout');
  t.deepEqual(tu.seen, ['408']);
  t.is(tx.state, 'terminated');
  t.is(h.layer.size, 0);
  t.is(h.clock.pending, 0);
});

test('non-INVITE: once a provisional arrives, Timer E fires every T2 (§17.1.2.2)', (t) => {
  const h = harness();
  const req = outgoing('OPTIONS');
  const tx = h.layer.sendRequest(req, UDP_NEXT_HOP);
  h.clock.advance(600);
  h.layer.receive(answer(req, 100, 'Trying'), UDP_NEXT_HOP);
  t.is(tx.state, 'proceeding');
  h.clock.advance(12_000);
  // 0, 500; the E due at 1500 (interval 1000) fires in Proceeding, then every 4 s.
  t.deepEqual(
    h.sent.map((s) => s.at),
    [0, 500, 1500, 5500, 9500],
  );
});

test('non-INVITE: the final goes to the TU once; copies are absorbed; Timer K (T4) ends it', async (t) => {
  const h = harness();
  const tu = collect();
  const req = outgoing('REGISTER');
  const tx = h.layer.sendRequest(req, UDP_NEXT_HOP, tu);
  h.layer.receive(answer(req, 100, 'Trying'), UDP_NEXT_HOP);
  h.layer.receive(answer(req, 200, 'OK'), UDP_NEXT_HOP);
  h.layer.receive(answer(req, 200, 'OK'), UDP_NEXT_HOP);
  t.is((await tx.done).status, 200);
  t.is(tx.outcome, 'response');
  t.deepEqual(tu.seen, ['100', '200']);
  t.is(tx.state, 'completed');
  t.is(tx.request, undefined, 'nothing is resent in Completed: the request is not kept');
  h.clock.advance(4999);
  t.is(tx.state, 'completed');
  h.clock.advance(1);
  t.is(tx.state, 'terminated');
  t.is(h.sent.length, 1, 'no retransmission after the final response');
  t.is(h.layer.size, 0);
  t.is(h.clock.pending, 0);
});

test('non-INVITE over TCP: no retransmissions, Timer F still bounds it, Timer K is zero', async (t) => {
  const h = harness();
  const lost = h.layer.sendRequest(outgoing('REGISTER', 'TCP'), TCP_NEXT_HOP);
  const req = request({ branch: 'z9hG4bKtcp2', transport: 'TCP', sentBy: '203.0.113.1' });
  const answered = h.layer.sendRequest(req, TCP_NEXT_HOP);
  h.layer.receive(answer(req, 200, 'OK'), TCP_NEXT_HOP);
  t.is(answered.state, 'terminated', 'K = 0 on a reliable transport');
  h.clock.advance(32_000);
  t.is(h.sent.length, 2);
  t.is((await lost.done).status, 408);
  t.is(h.layer.size, 0);
});

test('INVITE over UDP: Timer A doubles without a cap until Timer B gives the TU a 408', async (t) => {
  const h = harness();
  const tx = h.layer.sendRequest(outgoing('INVITE'), UDP_NEXT_HOP);
  t.is(tx.state, 'calling');
  h.clock.advance(40_000);
  t.deepEqual(
    h.sent.map((s) => s.at),
    [0, 500, 1500, 3500, 7500, 15_500, 31_500],
  );
  t.is((await tx.done).status, 408);
  t.is(tx.outcome, 'timeout');
  t.is(h.layer.size, 0);
  t.is(h.clock.pending, 0);
});

test('INVITE: a provisional stops retransmissions; a 486 is ACKed by the transaction as §17.1.1.3 says', async (t) => {
  const h = harness();
  const tu = collect();
  const invite = outgoing('INVITE');
  const tx = h.layer.sendRequest(invite, UDP_NEXT_HOP, tu);
  h.clock.advance(600);
  h.layer.receive(answer(invite, 180, 'Ringing'), UDP_NEXT_HOP);
  t.is(tx.state, 'proceeding');
  h.clock.advance(10_000);
  t.is(h.sent.length, 2, 'sent at 0 and 500 only');
  h.layer.receive(answer(invite, 486, 'Busy Here'), UDP_NEXT_HOP);
  t.is(tx.state, 'completed');
  t.is(tx.request, undefined, 'the INVITE is not kept for the 32 s of Timer D: the ACK is');
  t.is((await tx.done).status, 486);
  const ack = h.sent.at(-1)!.message as SipRequest;
  t.is(ack.method, 'ACK');
  t.is(ack.uriText, invite.uriText);
  t.deepEqual(ack.headerValues('via'), ['SIP/2.0/UDP 203.0.113.1:5060;branch=z9hG4bKproxy1;rport']);
  t.is(ack.to().tag, 'uas-9', 'To comes from the response');
  t.is(ack.header('from'), invite.header('from'));
  t.is(ack.callId(), invite.callId());
  t.deepEqual(ack.cseq(), { seq: invite.cseq().seq, method: 'ACK' });
  t.deepEqual(ack.headerValues('route'), ['<sip:edge.example.com;lr>']);
  t.is(ack.body.length, 0);
  // The 486 again: ACK again, the TU does not see it twice.
  h.layer.receive(answer(invite, 486, 'Busy Here'), UDP_NEXT_HOP);
  t.deepEqual(h.lines().slice(-2), ['ACK', 'ACK']);
  t.deepEqual(tu.seen, ['180', '486']);
  // Timer D (32 s on UDP) then ends it.
  h.clock.advance(31_999);
  t.is(tx.state, 'completed');
  h.clock.advance(1);
  t.is(tx.state, 'terminated');
  t.is(h.layer.size, 0);
  t.is(h.clock.pending, 0);
});

test('INVITE 2xx (RFC 6026 Accepted): no ACK from the transaction, every 2xx reaches the TU, Timer M ends it', async (t) => {
  const h = harness();
  const tu = collect();
  const invite = outgoing('INVITE');
  const tx = h.layer.sendRequest(invite, UDP_NEXT_HOP, tu);
  t.is(tx.request, invite);
  h.layer.receive(answer(invite, 200, 'OK'), UDP_NEXT_HOP);
  t.is(tx.state, 'accepted');
  t.is(tx.request, undefined, 'the INVITE is not kept for the 32 s of Timer M');
  t.is((await tx.done).status, 200);
  h.layer.receive(answer(invite, 200, 'OK'), UDP_NEXT_HOP); // retransmission
  h.layer.receive(answer(invite, 200, 'OK', 'fork-2'), UDP_NEXT_HOP); // another fork
  h.layer.receive(answer(invite, 486, 'Busy Here', 'fork-3'), UDP_NEXT_HOP); // dropped
  t.deepEqual(tu.seen, ['200', '200', '200']);
  t.deepEqual(h.lines(), ['INVITE'], 'the ACK of a 2xx is the TU’s (§13.2.2.4)');
  h.clock.advance(32_000);
  t.is(tx.state, 'terminated');
  t.is(h.layer.size, 0);
  // After Timer M a late 2xx is a stray for the core.
  h.layer.receive(answer(invite, 200, 'OK'), UDP_NEXT_HOP);
  t.is(h.strays.length, 1);
});

test('finalToTuOnly: the final goes to onResponse and is not kept; done asked before it still resolves', async (t) => {
  const h = harness();
  const tu = collect();
  const invite = outgoing('INVITE');
  const tx = h.layer.sendRequest(invite, UDP_NEXT_HOP, { ...tu, finalToTuOnly: true });
  h.layer.receive(answer(invite, 200, 'OK'), UDP_NEXT_HOP);
  t.deepEqual(tu.seen, ['200'], 'the TU has it');
  t.throws(() => tx.done, { code: 'TG_SIPTX_FINAL_NOT_KEPT' });
  // Asked before the final, done is kept and resolves with it, as without the option.
  const bye = outgoing('BYE'); // its own transaction: the key holds the method
  const byeTx = h.layer.sendRequest(bye, UDP_NEXT_HOP, { finalToTuOnly: true });
  const done = byeTx.done;
  h.layer.receive(answer(bye, 200, 'OK'), UDP_NEXT_HOP);
  t.is((await done).status, 200);
});

test('INVITE over TCP: no Timer A, Timer D is zero after a 3xx-6xx', (t) => {
  const h = harness();
  const invite = outgoing('INVITE', 'TCP');
  const tx = h.layer.sendRequest(invite, TCP_NEXT_HOP);
  h.clock.advance(10_000);
  t.is(h.sent.length, 1);
  h.layer.receive(answer(invite, 404, 'Not Found'), TCP_NEXT_HOP);
  t.deepEqual(h.lines(), ['INVITE', 'ACK']);
  t.is(tx.state, 'terminated');
  t.is(h.layer.size, 0);
  t.is(h.clock.pending, 0);
});

test('a transport error is a 503 for the TU (§8.1.3.1)', async (t) => {
  const h = harness();
  h.failSends = true;
  const tx = h.layer.sendRequest(outgoing('OPTIONS'), UDP_NEXT_HOP);
  const res = await tx.done;
  t.is(res.status, 503);
  t.is(tx.outcome, 'transport-error');
  t.is(h.layer.size, 0);
  t.is(h.clock.pending, 0);
});

test('a transport error on a retransmission also ends it', async (t) => {
  const h = harness();
  const tx = h.layer.sendRequest(outgoing('OPTIONS'), UDP_NEXT_HOP);
  h.failSends = true;
  h.clock.advance(500);
  t.is((await tx.done).status, 503);
  t.is(h.layer.size, 0);
});

test('responses match by branch and CSeq method: the CANCEL’s 200 does not complete its INVITE', async (t) => {
  const h = harness();
  const invite = outgoing('INVITE');
  const inviteTx = h.layer.sendRequest(invite, UDP_NEXT_HOP);
  const cancel = request({
    method: 'CANCEL',
    branch: OUR_BRANCH,
    sentBy: '203.0.113.1:5060',
  });
  const cancelTx = h.layer.sendRequest(cancel, UDP_NEXT_HOP);
  h.layer.receive(answer(cancel, 200, 'OK'), UDP_NEXT_HOP);
  t.is(cancelTx.state, 'completed');
  t.is(inviteTx.state, 'calling');
  h.layer.receive(answer(invite, 487, 'Request Terminated'), UDP_NEXT_HOP);
  t.is((await inviteTx.done).status, 487);
  // Another branch is nobody's: a stray for the core.
  const other = answer(request({ branch: 'z9hG4bKnotours' }), 200, 'OK');
  h.layer.receive(other, UDP_NEXT_HOP);
  t.is(h.strays.length, 1);
  t.is(h.layer.stats.strayResponses, 1);
});

test('sendRequest refuses ACK, a missing or RFC 2543 branch, and a branch in use', (t) => {
  const h = harness();
  const code = (fn: () => unknown) => (t.throws(fn) as { code?: string }).code;
  t.is(
    code(() => h.layer.sendRequest(request({ method: 'ACK', cseqMethod: 'ACK' }), UDP_NEXT_HOP)),
    'TG_SIPTX_BAD_REQUEST',
  );
  t.is(
    code(() => h.layer.sendRequest(request({ branch: null }), UDP_NEXT_HOP)),
    'TG_SIPTX_BAD_REQUEST',
  );
  t.is(
    code(() => h.layer.sendRequest(request({ branch: 'z9hG4bK' }), UDP_NEXT_HOP)),
    'TG_SIPTX_BAD_REQUEST',
  );
  h.layer.sendRequest(request({ branch: 'z9hG4bKsame' }), UDP_NEXT_HOP);
  t.is(
    code(() => h.layer.sendRequest(request({ branch: 'z9hG4bKsame' }), UDP_NEXT_HOP)),
    'TG_SIPTX_BAD_REQUEST',
  );
  t.is(h.layer.size, 1);
});

test('newBranch makes distinct RFC 3261 branches', (t) => {
  const seen = new Set<string>();
  for (let i = 0; i < 1000; i++) seen.add(newBranch());
  t.is(seen.size, 1000);
  for (const b of seen) t.regex(b, /^z9hG4bK[A-Za-z0-9_-]{12}$/);
});

test('a transport error found after the send (a refused connection) also ends it with a 503', async (t) => {
  const h = harness();
  const tx = h.layer.sendRequest(outgoing('INVITE', 'TCP'), TCP_NEXT_HOP);
  t.is(tx.state, 'calling');
  h.sent[0]!.fail(new Error('ECONNREFUSED'));
  t.is((await tx.done).status, 503);
  t.is(tx.outcome, 'transport-error');
  t.is(h.layer.size, 0);
  t.is(h.clock.pending, 0);
});
