// The session table itself: bounded, oldest-started forgotten first, ended sessions free
// their slot.
import test from 'ava';
import { SESSION_DEFAULTS } from '../../../src/control/guard/config.ts';
import { hashKey } from '../../../src/control/guard/counters.ts';
import { SessionTracker } from '../../../src/control/guard/sessions.ts';

const limits = { ...SESSION_DEFAULTS };

/** A clock that moves 1 s per reading (no message is "quick"). */
function ticker(): () => number {
  let now = 0;
  return () => {
    now += 1000;
    return now;
  };
}

test('the table holds at most capacity sessions and forgets the oldest-started first', (t) => {
  const s = new SessionTracker(3);
  const closeAt = { ...limits, sessionmaxmsg: 3 };
  const clock = ticker();
  for (const id of ['a', 'b', 'c']) s.record(id, 'message', clock(), closeAt);
  // Touching 'a' again does not make it younger: age is when the session started.
  s.record('a', 'message', clock(), closeAt);
  t.is(s.size, 3);
  s.record('d', 'message', clock(), closeAt);
  t.is(s.size, 3, 'bounded');
  // 'a' had 2 messages; forgotten, it starts again at 1, so the 3rd comes later.
  t.is(s.record('a', 'message', clock(), closeAt), undefined);
  t.is(s.record('a', 'message', clock(), closeAt), undefined);
  t.is(s.record('a', 'message', clock(), closeAt), 'sessionmaxmsg');
  // Re-adding 'a' pushed out 'b' (the oldest then); 'c' and 'd' kept their counts.
  t.is(s.record('c', 'message', clock(), closeAt), undefined);
  t.is(s.record('c', 'message', clock(), closeAt), 'sessionmaxmsg');
  t.is(s.lastCount, 3);
});

test('an ended session frees its slot: nothing older is forgotten for the next one', (t) => {
  const s = new SessionTracker(3);
  const closeAt = { ...limits, sessionmaxmsg: 2 };
  const clock = ticker();
  for (const id of ['a', 'b', 'c']) s.record(id, 'message', clock(), closeAt);
  s.end('b');
  t.is(s.size, 2);
  s.record('d', 'message', clock(), closeAt);
  t.is(s.size, 3);
  t.is(s.record('a', 'message', clock(), closeAt), 'sessionmaxmsg', "'a' was kept");
  s.end('missing');
  s.clear();
  t.is(s.size, 0);
  t.is(s.record('a', 'message', clock(), closeAt), undefined, 'cleared');
});

test('a million Call-IDs through a full table: size stays at capacity', (t) => {
  const s = new SessionTracker(1024);
  for (let i = 0; i < 1_000_000; i++) s.record(`call-${i}`, 'message', i, limits);
  t.is(s.size, 1024);
  // The newest 1024 are the ones kept.
  const closeAt = { ...limits, sessionmaxmsg: 2 };
  t.is(s.record('call-999999', 'message', 2_000_000, closeAt), 'sessionmaxmsg');
});

test('Call-IDs that all hash to one index bucket overflow to a Map and behave the same', (t) => {
  const seed = 12345;
  const capacity = 64; // 32 buckets of 8 cells
  const same: string[] = [];
  for (let i = 0; same.length < 40; i++) {
    const id = `collide-${i}`;
    if ((hashKey(id, seed) & 31) === 0) same.push(id);
  }
  const s = new SessionTracker(capacity, seed);
  const closeAt = { ...limits, sessionmaxmsg: 3 };
  const clock = ticker();
  for (const id of same) s.record(id, 'message', clock(), closeAt);
  t.is(s.size, 40);
  t.is(s.overflowed, 32, 'the bucket holds 8, the rest overflowed');
  // Every one is found again, wherever it is held: the 2nd message, then the 3rd closes.
  for (const id of same) t.is(s.record(id, 'message', clock(), closeAt), undefined);
  for (const id of same) t.is(s.record(id, 'message', clock(), closeAt), 'sessionmaxmsg');
  // Ending one held in the bucket and one in the overflow.
  s.end(same[0]!);
  s.end(same[39]!);
  t.is(s.size, 38);
  t.is(s.overflowed, 31);
  // Filling the table forgets the oldest first, overflowed or not.
  for (let i = 0; s.size < capacity; i++) s.record(`fill-${i}`, 'message', clock(), closeAt);
  s.record('one-more', 'message', clock(), closeAt);
  t.is(s.size, capacity);
  // same[1], the oldest, was forgotten: closed before, it starts again and can close again.
  t.is(s.record(same[1]!, 'message', clock(), closeAt), undefined);
  t.is(s.record(same[1]!, 'message', clock(), closeAt), undefined);
  t.is(s.record(same[1]!, 'message', clock(), closeAt), 'sessionmaxmsg');
  // The fill sessions were kept with their count of 1.
  t.is(s.record('fill-0', 'message', clock(), closeAt), undefined);
  t.is(s.record('fill-0', 'message', clock(), closeAt), 'sessionmaxmsg');
});
