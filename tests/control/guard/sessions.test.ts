// The session table itself: bounded, oldest-started forgotten first, ended sessions free
// their slot.
import test from 'ava';
import { SESSION_DEFAULTS } from '../../../src/control/guard/config.ts';
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
