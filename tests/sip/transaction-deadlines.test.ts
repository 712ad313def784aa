// The shared FIFO timers of fixed length (deadline-queue.ts) behind Timers F and J of the
// non-INVITE server transactions: due order, one clock timer at most, nothing left behind.
import test from 'ava';
import { createResponse } from '../../src/sip/message/index.ts';
import {
  type DeadlineOwner,
  DeadlineQueue,
  DeadlineSlot,
} from '../../src/sip/transaction/deadline-queue.ts';
import { FakeClock } from '../helpers/fake-clock.ts';
import { harness, request, TCP_PEER, UDP_PEER } from '../helpers/transaction-harness.ts';

function owner(name: string, log: string[], clock: FakeClock): DeadlineOwner {
  return { deadlineExpired: () => log.push(`${name}@${clock.now()}`) };
}

test('slots expire in the order they were added, each its full duration later', (t) => {
  const clock = new FakeClock();
  const q = new DeadlineQueue(clock, 100);
  const log: string[] = [];
  const a = new DeadlineSlot(owner('a', log, clock));
  const b = new DeadlineSlot(owner('b', log, clock));
  const c = new DeadlineSlot(owner('c', log, clock));
  q.add(a);
  clock.advance(10);
  q.add(b);
  q.add(c);
  t.is(q.size, 3);
  t.is(clock.pending, 1, 'one clock timer for the whole queue');
  clock.advance(89);
  t.deepEqual(log, []);
  clock.advance(1);
  t.deepEqual(log, ['a@100']);
  clock.advance(100);
  t.deepEqual(log, ['a@100', 'b@110', 'c@110']);
  t.is(q.size, 0);
  t.is(clock.pending, 0);
});

test('a removed slot never fires; the last one removed takes the clock timer with it', (t) => {
  const clock = new FakeClock();
  const q = new DeadlineQueue(clock, 100);
  const log: string[] = [];
  const a = new DeadlineSlot(owner('a', log, clock));
  const b = new DeadlineSlot(owner('b', log, clock));
  q.add(a);
  clock.advance(50);
  q.add(b);
  a.cancel();
  t.is(q.oldest, b);
  clock.advance(60); // a's old deadline passes: nothing fires, the timer re-arms for b
  t.deepEqual(log, []);
  t.is(clock.pending, 1);
  b.cancel();
  b.cancel(); // twice is harmless
  t.is(clock.pending, 0);
  t.is(q.size, 0);
  t.is(q.oldest, undefined);
  clock.runAll();
  t.deepEqual(log, []);
});

test('adding a slot again restarts it, also from another queue', (t) => {
  const clock = new FakeClock();
  const short = new DeadlineQueue(clock, 10);
  const long = new DeadlineQueue(clock, 100);
  const log: string[] = [];
  const a = new DeadlineSlot(owner('a', log, clock));
  const b = new DeadlineSlot(owner('b', log, clock));
  short.add(a);
  short.add(b);
  clock.advance(5);
  short.add(a); // restarted: now behind b
  clock.advance(5);
  t.deepEqual(log, ['b@10']);
  long.add(a); // moved
  t.is(short.size, 0);
  t.is(long.size, 1);
  clock.runAll();
  t.deepEqual(log, ['b@10', 'a@110']);
  t.is(clock.pending, 0);
});

test('an owner may start its slot again while expiring', (t) => {
  const clock = new FakeClock();
  const q = new DeadlineQueue(clock, 10);
  let fired = 0;
  const slot: DeadlineSlot = new DeadlineSlot({
    deadlineExpired: () => {
      if (++fired < 3) q.add(slot);
    },
  });
  q.add(slot);
  clock.runAll();
  t.is(fired, 3);
  t.is(clock.now(), 30);
  t.is(clock.pending, 0);
});

test('non-INVITE server transactions: Timer J ends each 64·T1 after its own answer', (t) => {
  const h = harness();
  h.layer.receive(request({ branch: 'z9hG4bKj1' }), UDP_PEER);
  h.clock.advance(1000);
  h.layer.receive(request({ branch: 'z9hG4bKj2' }), UDP_PEER);
  const [first, second] = h.requests;
  second!.tx.respond(createResponse(second!.req, 200, 'OK', { toTag: 't' }));
  t.is(second!.tx.pendingTimers, 1);
  h.clock.advance(1000);
  first!.tx.respond(createResponse(first!.req, 200, 'OK', { toTag: 't' }));
  h.clock.advanceTo(1000 + 32_000 - 1);
  t.deepEqual([first!.tx.state, second!.tx.state], ['completed', 'completed']);
  h.clock.advance(1);
  t.deepEqual([first!.tx.state, second!.tx.state], ['completed', 'terminated']);
  h.clock.advanceTo(2000 + 32_000);
  t.is(first!.tx.state, 'terminated');
  t.deepEqual(
    h.ends.map((e) => e.reason),
    ['done', 'done'],
  );
  t.is(h.clock.pending, 0);
});

test('reclaiming takes the transaction that completed first, not the one opened first', (t) => {
  const h = harness({ maxTransactions: 2 });
  h.layer.receive(request({ branch: 'z9hG4bKopened1' }), UDP_PEER);
  h.layer.receive(request({ branch: 'z9hG4bKopened2' }), UDP_PEER);
  const [first, second] = h.requests;
  second!.tx.respond(createResponse(second!.req, 200, 'OK', { toTag: 't' }));
  first!.tx.respond(createResponse(first!.req, 200, 'OK', { toTag: 't' }));
  h.layer.receive(request({ branch: 'z9hG4bKthird' }), UDP_PEER);
  t.is(h.layer.stats.reclaimed, 1);
  t.is(second!.tx.state, 'terminated');
  t.is(first!.tx.state, 'completed');
});

test('over TCP Completed ends at once: nothing waits in a queue, nothing to reclaim', (t) => {
  const h = harness({ maxTransactions: 1 });
  h.layer.receive(request({ branch: 'z9hG4bKtcp', transport: 'TCP' }), TCP_PEER);
  const { tx, req } = h.requests[0]!;
  t.is(tx.pendingTimers, 1, 'Timer F');
  tx.respond(createResponse(req, 200, 'OK', { toTag: 't' }));
  t.is(tx.state, 'terminated');
  t.is(tx.pendingTimers, 0);
  t.is(h.clock.pending, 0);
  t.is(h.layer.size, 0);
});

test('requests answered inside the handler start no clock timer each: one for the whole queue', (t) => {
  let started = 0;
  const clock = new (class extends FakeClock {
    override setTimeout(fn: () => void, ms: number) {
      started++;
      return super.setTimeout(fn, ms);
    }
  })();
  const h = harness({
    clock,
    onRequest: (tx, req) => tx.respond(createResponse(req, 200, 'OK', { toTag: 't' })),
  });
  for (let i = 0; i < 100; i++) h.layer.receive(request({ branch: `z9hG4bKsync${i}` }), UDP_PEER);
  t.is(h.layer.size, 100);
  t.is(started, 1, "Timer J's queue; Timer F never armed");
  // One left unanswered by its handler still gets Timer F, from when it came in.
  const slow = harness();
  slow.layer.receive(request({ branch: 'z9hG4bKslow' }), UDP_PEER);
  slow.clock.advance(31_999);
  t.deepEqual(slow.ends, []);
  slow.clock.advance(1);
  t.deepEqual(
    slow.ends.map((e) => e.reason),
    ['abandoned'],
  );
});
