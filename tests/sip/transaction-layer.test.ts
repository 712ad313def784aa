// The transaction table: bounded, emptied by the timers, robust to any order of events.
import test from 'ava';
import fc from 'fast-check';
import { registeredErrorCodes } from '../../src/errors.ts';
import { createResponse, type SipRequest } from '../../src/sip/message/index.ts';
import { MAX_PER_BRANCH } from '../../src/sip/transaction/branch-table.ts';
import {
  type ClientTransaction,
  DEFAULT_MAX_TRANSACTIONS,
  type Endpoint,
  type ServerTransaction,
  TransactionErrors,
  TransactionLayer,
} from '../../src/sip/transaction/index.ts';
import { harness, request, TCP_PEER, UDP_PEER } from '../helpers/transaction-harness.ts';

test('a full table answers new requests 503 without state, counts them, and still serves its own', (t) => {
  const h = harness({ maxTransactions: 3 });
  for (const b of ['z9hG4bK1', 'z9hG4bK2', 'z9hG4bK3'])
    h.layer.receive(request({ branch: b }), UDP_PEER);
  h.layer.receive(request({ branch: 'z9hG4bK4' }), UDP_PEER);
  h.layer.receive(request({ branch: 'z9hG4bK5', method: 'INVITE' }), UDP_PEER);
  t.is(h.requests.length, 3, 'the TU never sees the refused ones');
  t.deepEqual(h.lines(), ['503 Service Unavailable', '503 Service Unavailable']);
  t.truthy(h.sent[0]!.message.to().tag);
  t.is(h.layer.stats.refusedFull, 2);
  t.is(h.layer.size, 3);
  // An ACK is never answered, full or not.
  h.layer.receive(request({ branch: 'z9hG4bK6', method: 'ACK', cseqMethod: 'ACK' }), UDP_PEER);
  t.is(h.sent.length, 2);
  // The client side shares the bound (nothing here is answered, so nothing is reclaimed).
  const err = t.throws(() => h.layer.sendRequest(request({ branch: 'z9hG4bKout' }), UDP_PEER));
  t.is((err as { code?: string }).code, 'TG_SIPTX_TABLE_FULL');
  // Retransmissions of live transactions are still absorbed and answered.
  const { tx, req } = h.requests[0]!;
  tx.respond(createResponse(req, 200, 'OK', { toTag: 't' }));
  h.layer.receive(request({ branch: 'z9hG4bK1' }), UDP_PEER);
  t.deepEqual(h.lines().slice(2), ['200 OK', '200 OK']);
  // Once transactions end there is room again.
  h.clock.runAll();
  t.is(h.layer.size, 0);
  h.layer.receive(request({ branch: 'z9hG4bK4' }), UDP_PEER);
  t.is(h.requests.length, 4);
});

test('a full table makes room by ending the oldest answered non-INVITE, not by refusing', (t) => {
  const h = harness({ maxTransactions: 3 });
  for (const b of ['z9hG4bK1', 'z9hG4bK2', 'z9hG4bK3']) {
    h.layer.receive(request({ branch: b }), UDP_PEER);
    const { tx, req } = h.requests.at(-1)!;
    tx.respond(createResponse(req, 200, 'OK', { toTag: 't' }));
  }
  t.is(h.layer.size, 3);
  h.layer.receive(request({ branch: 'z9hG4bK4' }), UDP_PEER);
  t.is(h.requests.length, 4, 'served, not refused');
  t.is(h.layer.stats.reclaimed, 1);
  t.is(h.layer.stats.refusedFull, 0);
  t.is(h.layer.size, 3);
  // The oldest was reclaimed: its retransmission is a new request for the TU; the others still
  // absorb theirs.
  h.layer.receive(request({ branch: 'z9hG4bK2' }), UDP_PEER);
  t.is(h.requests.length, 4);
  // An INVITE or an unanswered request is never reclaimed: with only those, the table refuses.
  const full = harness({ maxTransactions: 2 });
  full.layer.receive(request({ branch: 'z9hG4bKa', method: 'INVITE' }), UDP_PEER);
  full.layer.receive(request({ branch: 'z9hG4bKb' }), UDP_PEER);
  full.layer.receive(request({ branch: 'z9hG4bKc' }), UDP_PEER);
  t.is(full.layer.stats.refusedFull, 1);
  t.is(full.layer.stats.reclaimed, 0);
});

test('a table full of answered calls makes room by ending the oldest Accepted INVITE, not by refusing', (t) => {
  // Each call leaves its INVITE Accepted for Timer L (32 s): at a sustained call rate above
  // the table's size / 32 s, only these can give way, and new calls must not get 503.
  const h = harness({ maxTransactions: 3 });
  for (const b of ['z9hG4bK1', 'z9hG4bK2', 'z9hG4bK3']) {
    h.layer.receive(request({ branch: b, method: 'INVITE' }), UDP_PEER);
    const { tx, req } = h.requests.at(-1)!;
    tx.respond(createResponse(req, 200, 'OK', { toTag: 't' }));
    t.is(tx.state, 'accepted');
  }
  h.layer.receive(request({ branch: 'z9hG4bK4', method: 'INVITE' }), UDP_PEER);
  t.is(h.requests.length, 4, 'served, not refused');
  t.is(h.layer.stats.reclaimed, 1);
  t.is(h.layer.stats.refusedFull, 0);
  t.is(h.requests[0]!.tx.state, 'terminated', 'the oldest gave way');
  t.is(h.requests[1]!.tx.state, 'accepted');
  // One still waiting for the ACK of its failure is never reclaimed (its 486 is resent until
  // then): with only those, and one unanswered, the table refuses.
  const full = harness({ maxTransactions: 2 });
  full.layer.receive(request({ branch: 'z9hG4bKa', method: 'INVITE' }), UDP_PEER);
  const failed = full.requests[0]!;
  failed.tx.respond(createResponse(failed.req, 486, 'Busy Here', { toTag: 't' }));
  full.layer.receive(request({ branch: 'z9hG4bKb', method: 'INVITE' }), UDP_PEER);
  full.layer.receive(request({ branch: 'z9hG4bKc', method: 'INVITE' }), UDP_PEER);
  t.is(full.layer.stats.refusedFull, 1);
  t.is(full.layer.stats.reclaimed, 0);
});

test('an outgoing request makes room the same way: a forwarded INVITE is not refused while the table holds answered BYEs', (t) => {
  const h = harness({ maxTransactions: 2 });
  for (const b of ['z9hG4bK1', 'z9hG4bK2']) {
    h.layer.receive(request({ branch: b, method: 'BYE' }), UDP_PEER);
    const { tx, req } = h.requests.at(-1)!;
    tx.respond(createResponse(req, 200, 'OK', { toTag: 't' }));
  }
  t.is(h.layer.size, 2);
  const out = h.layer.sendRequest(request({ branch: 'z9hG4bKout', method: 'INVITE' }), UDP_PEER);
  t.is(h.layer.stats.reclaimed, 1);
  t.is(h.layer.size, 2);
  t.is(out.request?.method, 'INVITE');
  // With nothing left to reclaim (an INVITE client and an unanswered request), it throws.
  h.layer.receive(request({ branch: 'z9hG4bK3' }), UDP_PEER);
  const err = t.throws(() => h.layer.sendRequest(request({ branch: 'z9hG4bKout2' }), UDP_PEER));
  t.is((err as { code?: string }).code, 'TG_SIPTX_TABLE_FULL');
  t.is(h.layer.stats.reclaimed, 2, 'the second BYE made room for the unanswered request');
});

test('forwarded requests give way too: answered client transactions make room, oldest non-INVITE first, an unanswered one never', (t) => {
  // Each forwarded call leaves its client INVITE Accepted for Timer M (32 s): at a sustained
  // 4,000 calls/s these alone fill 100,000 entries, and new calls must not get 503.
  const h = harness({ maxTransactions: 4 });
  const invites: ClientTransaction[] = [];
  for (const b of ['z9hG4bKc1', 'z9hG4bKc2', 'z9hG4bKc3']) {
    const req = request({ branch: b, method: 'INVITE' });
    invites.push(h.layer.sendRequest(req, UDP_PEER));
    h.layer.receive(createResponse(req, 200, 'OK', { toTag: 't' }), UDP_PEER);
    t.is(invites.at(-1)!.state, 'accepted');
  }
  const byeReq = request({ branch: 'z9hG4bKbye', method: 'BYE' });
  const bye = h.layer.sendRequest(byeReq, UDP_PEER);
  h.layer.receive(createResponse(byeReq, 200, 'OK', { toTag: 't' }), UDP_PEER);
  t.is(bye.state, 'completed');
  t.is(h.layer.size, 4);

  h.layer.sendRequest(request({ branch: 'z9hG4bKc4', method: 'INVITE' }), UDP_PEER);
  t.is(bye.state, 'terminated', 'the answered BYE (Timer K) gave way first');
  t.is(invites[0]!.state, 'accepted');
  h.layer.sendRequest(request({ branch: 'z9hG4bKc5', method: 'INVITE' }), UDP_PEER);
  t.is(invites[0]!.state, 'terminated', 'then the oldest Accepted INVITE (Timer M)');
  t.is(invites[0]!.pendingTimers, 0, 'nothing of it is left to fire');
  t.is(invites[1]!.state, 'accepted');
  t.is(h.layer.stats.reclaimed, 2);
  t.is(h.layer.size, 4);

  // A client INVITE with no answer yet (c4, c5) is never ended for room.
  const full = harness({ maxTransactions: 2 });
  full.layer.sendRequest(request({ branch: 'z9hG4bKu1', method: 'INVITE' }), UDP_PEER);
  full.layer.sendRequest(request({ branch: 'z9hG4bKu2', method: 'INVITE' }), UDP_PEER);
  const err = t.throws(() =>
    full.layer.sendRequest(request({ branch: 'z9hG4bKu3', method: 'INVITE' }), UDP_PEER),
  );
  t.is((err as { code?: string }).code, 'TG_SIPTX_TABLE_FULL');
  t.is(full.layer.stats.reclaimed, 0);
});

test('one branch under many sent-by values makes at most MAX_PER_BRANCH transactions; the rest get 482', (t) => {
  const h = harness();
  for (let i = 0; i < MAX_PER_BRANCH + 3; i++)
    h.layer.receive(request({ branch: 'z9hG4bKsame', sentBy: `192.0.2.${i + 1}:5060` }), UDP_PEER);
  t.is(h.requests.length, MAX_PER_BRANCH, 'the TU sees the first ones only');
  t.is(h.layer.size, MAX_PER_BRANCH);
  t.deepEqual(h.lines(), Array(3).fill('482 Loop Detected'));
  t.is(h.layer.stats.refusedBranch, 3);
  // Each one it holds is still found: a retransmission of the first is absorbed.
  h.layer.receive(request({ branch: 'z9hG4bKsame', sentBy: '192.0.2.1:5060' }), UDP_PEER);
  t.is(h.requests.length, MAX_PER_BRANCH);
  t.is(h.layer.stats.matched, 1);
  // Another branch is not affected, and once the transactions end the branch is free again.
  h.layer.receive(request({ branch: 'z9hG4bKother' }), UDP_PEER);
  t.is(h.requests.length, MAX_PER_BRANCH + 1);
  for (const { tx, req } of h.requests) tx.respond(createResponse(req, 200, 'OK', { toTag: 't' }));
  h.clock.runAll();
  t.is(h.layer.size, 0);
  h.layer.receive(request({ branch: 'z9hG4bKsame', sentBy: '192.0.2.99:5060' }), UDP_PEER);
  t.is(h.requests.length, MAX_PER_BRANCH + 2);
});

test('the default bound is 100k and bad bounds are refused', (t) => {
  t.is(DEFAULT_MAX_TRANSACTIONS, 100_000);
  for (const maxTransactions of [0, -1, 1.5, Number.NaN]) {
    const err = t.throws(
      () => new TransactionLayer({ send: () => true, onRequest: () => {}, maxTransactions }),
    );
    t.is((err as { code?: string }).code, 'TG_SIPTX_BAD_OPTION');
  }
});

test('a flood of distinct requests costs at most the bound, and the table drains to empty', (t) => {
  const max = 2000;
  const h = harness({ maxTransactions: max });
  for (let i = 0; i < 5000; i++) {
    h.layer.receive(request({ branch: `z9hG4bKflood${i}`, callId: `c${i}` }), UDP_PEER);
  }
  t.is(h.layer.size, max);
  t.is(h.layer.stats.refusedFull, 5000 - max);
  h.clock.runAll();
  t.is(h.layer.size, 0);
  t.is(h.clock.pending, 0);
});

test('the catalogue codes are registered for this area only', (t) => {
  const codes = Object.keys(TransactionErrors);
  t.true(codes.length > 0);
  for (const code of codes) t.is(registeredErrorCodes().get(code), 'sip-transaction');
});

// Any interleaving of requests, retransmissions, TU answers, ACKs, client requests, peer
// responses, transport errors and time must leave no transaction and no timer behind, and
// must never let the table grow past its bound.
type Step =
  | { kind: 'request'; method: string; branch: number; tcp: boolean }
  | { kind: 'answer'; which: number; status: number }
  | { kind: 'ack'; branch: number }
  | { kind: 'send'; method: string; branch: number; tcp: boolean }
  | { kind: 'reply'; which: number; status: number }
  | { kind: 'time'; ms: number }
  | { kind: 'failSends'; on: boolean };

const METHODS = ['INVITE', 'REGISTER', 'OPTIONS', 'CANCEL', 'BYE'];
const STATUS = fc.constantFrom(100, 180, 183, 200, 202, 302, 404, 486, 487, 503, 603);
const step: fc.Arbitrary<Step> = fc.oneof(
  fc.record({
    kind: fc.constant('request' as const),
    method: fc.constantFrom(...METHODS),
    branch: fc.nat(8),
    tcp: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('answer' as const), which: fc.nat(20), status: STATUS }),
  fc.record({ kind: fc.constant('ack' as const), branch: fc.nat(8) }),
  fc.record({
    kind: fc.constant('send' as const),
    method: fc.constantFrom(...METHODS),
    branch: fc.nat(8),
    tcp: fc.boolean(),
  }),
  fc.record({ kind: fc.constant('reply' as const), which: fc.nat(20), status: STATUS }),
  fc.record({ kind: fc.constant('time' as const), ms: fc.integer({ min: 0, max: 40_000 }) }),
  fc.record({ kind: fc.constant('failSends' as const), on: fc.boolean() }),
);

test('property: any sequence of events drains to an empty table with no timers left', (t) => {
  const max = 6;
  fc.assert(
    fc.property(fc.array(step, { maxLength: 60 }), (steps) => {
      const h = harness({ maxTransactions: max });
      const server: { tx: ServerTransaction; req: SipRequest }[] = h.requests;
      const client: { tx: ClientTransaction; req: SipRequest }[] = [];
      const peer = (tcp: boolean): Endpoint => (tcp ? TCP_PEER : UDP_PEER);
      for (const s of steps) {
        switch (s.kind) {
          case 'request':
            h.layer.receive(
              request({
                method: s.method,
                branch: `z9hG4bKp${s.branch}`,
                transport: s.tcp ? 'TCP' : 'UDP',
              }),
              peer(s.tcp),
            );
            break;
          case 'answer': {
            const e = server[s.which % Math.max(1, server.length)];
            e?.tx.respond(createResponse(e.req, s.status, 'Any', { toTag: 'tt' }));
            break;
          }
          case 'ack':
            h.layer.receive(
              request({
                method: 'ACK',
                cseqMethod: 'ACK',
                branch: `z9hG4bKp${s.branch}`,
                toTag: 'tt',
              }),
              UDP_PEER,
            );
            break;
          case 'send': {
            const req = request({
              method: s.method,
              branch: `z9hG4bKc${s.branch}`,
              transport: s.tcp ? 'TCP' : 'UDP',
            });
            try {
              client.push({ tx: h.layer.sendRequest(req, peer(s.tcp)), req });
            } catch (err) {
              const code = (err as { code?: string }).code;
              if (code !== 'TG_SIPTX_TABLE_FULL' && code !== 'TG_SIPTX_BAD_REQUEST') throw err;
            }
            break;
          }
          case 'reply': {
            const e = client[s.which % Math.max(1, client.length)];
            if (e !== undefined) {
              h.layer.receive(createResponse(e.req, s.status, 'Any', { toTag: 'uas' }), UDP_PEER);
            }
            break;
          }
          case 'time':
            h.clock.advance(s.ms);
            break;
          case 'failSends':
            h.failSends = s.on;
            break;
        }
        if (h.layer.size > max) return false;
      }
      h.failSends = false;
      // A TU that left an INVITE ringing would answer some day; Timer C ends it otherwise.
      h.clock.runAll();
      return (
        h.layer.size === 0 &&
        h.clock.pending === 0 &&
        server.every((e) => e.tx.state === 'terminated') &&
        client.every((e) => e.tx.state === 'terminated' && e.tx.outcome !== undefined)
      );
    }),
    { numRuns: 300 },
  );
  t.pass();
});
