// Which transaction a message belongs to (RFC 3261 §17.2.3, §9.2, §17.1.3), including the
// RFC 2543 fallback exercised by RFC 4475 §3.2.1 badbranch.dat and §3.4.1 inv2543.dat.
import { readFileSync } from 'node:fs';
import test from 'ava';
import { createResponse, parseMessage, type SipRequest } from '../../src/sip/message/index.ts';
import {
  harness,
  request,
  sipRequest,
  sipResponse,
  UDP_PEER,
} from '../helpers/transaction-harness.ts';

const DIR = new URL('../fixtures/sip/rfc4475/', import.meta.url);

function fixture(name: string): SipRequest {
  const r = parseMessage(readFileSync(new URL(`${name}.dat`, DIR)));
  if (!r.ok || r.message.kind !== 'request') throw new Error(`${name} is not a request`);
  return r.message;
}

/** The fixture's text with one header line replaced (first line starting with `prefix`). */
function fixtureWith(name: string, prefix: string, line: string): SipRequest {
  const text = readFileSync(new URL(`${name}.dat`, DIR), 'latin1');
  const lines = text.split('\r\n');
  const at = lines.findIndex((l) => l.startsWith(prefix));
  lines[at] = line;
  return sipRequest(lines.join('\n'));
}

test('RFC 3261 branches: same branch but another sent-by is another transaction', (t) => {
  const h = harness();
  h.layer.receive(request({ branch: 'z9hG4bKsame' }), UDP_PEER);
  h.layer.receive(request({ branch: 'z9hG4bKsame', sentBy: '192.0.2.99:5060' }), UDP_PEER);
  h.layer.receive(request({ branch: 'z9hG4bKsame' }), UDP_PEER);
  t.is(h.requests.length, 2);
  t.is(h.layer.stats.server, 2);
  t.is(h.layer.stats.matched, 1);
});

test('CANCEL is its own transaction and finds the INVITE it cancels (§9.2)', (t) => {
  const h = harness();
  h.layer.receive(request({ method: 'INVITE', branch: 'z9hG4bKcall' }), UDP_PEER);
  const cancel = request({ method: 'CANCEL', branch: 'z9hG4bKcall' });
  h.layer.receive(cancel, UDP_PEER);
  t.deepEqual(
    h.requests.map((r) => r.req.method),
    ['INVITE', 'CANCEL'],
  );
  const [invite, cancelTx] = h.requests;
  t.not(invite!.tx, cancelTx!.tx);
  t.is(h.layer.findInviteFor(cancel), invite!.tx);
  // The TU answers both: 200 for the CANCEL, 487 for the INVITE (§9.2).
  cancelTx!.tx.respond(createResponse(cancel, 200, 'OK', { toTag: 'x' }));
  invite!.tx.respond(createResponse(invite!.req, 487, 'Request Terminated', { toTag: 'x' }));
  t.deepEqual(h.lines(), ['200 OK', '487 Request Terminated']);
  // A CANCEL for nothing we know: no INVITE (the TU answers 481).
  t.is(h.layer.findInviteFor(request({ method: 'CANCEL', branch: 'z9hG4bKother' })), undefined);
  // A CANCEL for a non-INVITE transaction is not an INVITE either.
  h.layer.receive(request({ method: 'OPTIONS', branch: 'z9hG4bKopt' }), UDP_PEER);
  t.is(h.layer.findInviteFor(request({ method: 'CANCEL', branch: 'z9hG4bKopt' })), undefined);
});

test('RFC 4475 badbranch.dat: a branch that is only the cookie is matched the RFC 2543 way', (t) => {
  const h = harness();
  h.layer.receive(fixture('badbranch'), UDP_PEER);
  h.layer.receive(fixture('badbranch'), UDP_PEER);
  t.is(h.requests.length, 1, 'the identical copy is a retransmission');
  const { tx, req } = h.requests[0]!;
  tx.respond(createResponse(req, 200, 'OK', { toTag: 'b1' }));
  h.layer.receive(fixture('badbranch'), UDP_PEER);
  t.deepEqual(h.lines(), ['200 OK', '200 OK']);
  // Each of the §17.2.3 fields tells transactions apart; the branch "z9hG4bK" alone does not.
  h.layer.receive(fixtureWith('badbranch', 'CSeq:', 'CSeq: 9 OPTIONS'), UDP_PEER);
  h.layer.receive(
    fixtureWith('badbranch', 'From:', 'From: sip:caller@example.org;tag=9'),
    UDP_PEER,
  );
  h.layer.receive(fixtureWith('badbranch', 'Call-ID:', 'Call-ID: another'), UDP_PEER);
  h.layer.receive(
    fixtureWith('badbranch', 'OPTIONS ', 'OPTIONS sip:other@example.com SIP/2.0'),
    UDP_PEER,
  );
  h.layer.receive(
    fixtureWith('badbranch', 'Via:', 'Via: SIP/2.0/UDP 192.0.2.2;branch=z9hG4bK'),
    UDP_PEER,
  );
  t.is(h.requests.length, 6);
});

test('RFC 4475 inv2543.dat: INVITE copies match; the ACK matches by the To tag we sent', (t) => {
  const h = harness();
  h.layer.receive(fixture('inv2543'), UDP_PEER);
  h.layer.receive(fixture('inv2543'), UDP_PEER);
  t.is(h.requests.length, 1);
  const { tx, req } = h.requests[0]!;
  tx.respond(createResponse(req, 486, 'Busy Here', { toTag: 'uas-tag' }));
  t.is(h.sent[0]!.message.to().tag, 'uas-tag');

  const ack = (toTag: string) =>
    sipRequest(
      [
        'ACK sip:UserB@example.com SIP/2.0',
        'Via: SIP/2.0/UDP iftgw.example.com',
        'From: <sip:+13035551111@ift.client.example.net;user=phone>',
        `To: sip:+16505552222@ss1.example.net;user=phone;tag=${toTag}`,
        'Call-ID: inv2543.1717@ift.client.example.com',
        'CSeq: 56 ACK',
        'Content-Length: 0',
        '',
        '',
      ].join('\n'),
    );
  h.layer.receive(ack('someone-else'), UDP_PEER);
  t.is(tx.state, 'completed', 'an ACK with another To tag is not ours');
  t.is(h.acks.length, 1);
  h.layer.receive(ack('uas-tag'), UDP_PEER);
  t.is(tx.state, 'confirmed');
  t.is(h.acks.length, 1);
  h.clock.runAll();
  t.is(h.layer.size, 0);
});

test('RFC 2543 CANCEL finds its INVITE by the same fields', (t) => {
  const h = harness();
  h.layer.receive(fixture('inv2543'), UDP_PEER);
  const text = readFileSync(new URL('inv2543.dat', DIR), 'latin1')
    .replace('INVITE sip:', 'CANCEL sip:')
    .replace('CSeq: 56 INVITE', 'CSeq: 56 CANCEL');
  const cancel = sipRequest(text);
  h.layer.receive(cancel, UDP_PEER);
  t.is(h.requests.length, 2, 'the CANCEL is a transaction of its own');
  t.is(h.layer.findInviteFor(cancel), h.requests[0]!.tx);
});

test('requests and responses that cannot be matched are counted and dropped', (t) => {
  const h = harness();
  const lines = (via: string | null) =>
    [
      'OPTIONS sip:a@example.com SIP/2.0',
      via,
      'To: <sip:a@example.com>',
      'From: <sip:c@example.com>;tag=1',
      'Call-ID: x',
      'CSeq: 1 OPTIONS',
      'Content-Length: 0',
      '',
      '',
    ]
      .filter((l) => l !== null)
      .join('\n');
  h.layer.receive(sipRequest(lines('Via: garbage')), UDP_PEER);
  h.layer.receive(sipRequest(lines(null)), UDP_PEER);
  t.is(h.requests.length, 0);
  t.is(h.sent.length, 0);
  // A response without a Via cannot name its client transaction either.
  h.layer.receive(
    sipResponse(
      'SIP/2.0 200 OK\nTo: <sip:a@example.com>;tag=2\nFrom: <sip:c@example.com>;tag=1\nCall-ID: x\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n',
    ),
    UDP_PEER,
  );
  t.is(h.strays.length, 0);
  t.is(h.layer.stats.unmatchable, 3);
  t.is(h.layer.size, 0);
});
