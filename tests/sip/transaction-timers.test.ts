import test from 'ava';
import {
  backoff,
  DEFAULT_BASE_TIMERS,
  deriveTimers,
  TransactionLayer,
} from '../../src/sip/transaction/index.ts';

// RFC 3261 Appendix A, Table 4, with the defaults T1 = 500 ms, T2 = 4 s, T4 = 5 s, and
// RFC 6026 §8.4/§8.7 for L and M — written out independently of src/ so a slip in the
// derivation shows up here.
test('defaults are RFC 3261 Table 4 on an unreliable transport', (t) => {
  t.deepEqual(DEFAULT_BASE_TIMERS, { t1: 500, t2: 4000, t4: 5000 });
  const v = deriveTimers(DEFAULT_BASE_TIMERS, false);
  t.like(v, {
    A: 500,
    B: 32_000,
    D: 32_000,
    E: 500,
    F: 32_000,
    G: 500,
    H: 32_000,
    I: 5000,
    J: 32_000,
    K: 5000,
    L: 32_000,
    M: 32_000,
    T2: 4000,
    trying: 200,
  });
  t.true(v.C > 180_000, 'Timer C is greater than 3 minutes (§16.6 step 11)');
});

test('on a reliable transport the wait-out timers D, I, J, K are zero and the timeouts stay', (t) => {
  const v = deriveTimers(DEFAULT_BASE_TIMERS, true);
  t.like(v, { D: 0, I: 0, J: 0, K: 0, B: 32_000, F: 32_000, H: 32_000, L: 32_000, M: 32_000 });
});

test('every 64·T1 timer follows T1; D never drops under 32 s on UDP', (t) => {
  const fast = deriveTimers({ t1: 100, t2: 4000, t4: 5000 }, false);
  t.like(fast, { A: 100, B: 6400, F: 6400, H: 6400, J: 6400, L: 6400, M: 6400, D: 32_000 });
  const slow = deriveTimers({ t1: 1000, t2: 8000, t4: 10_000 }, false);
  t.like(slow, { B: 64_000, D: 64_000, I: 10_000, K: 10_000, T2: 8000 });
});

test('bad base values are refused', (t) => {
  t.throws(() => deriveTimers({ t1: 0, t2: 4000, t4: 5000 }, false), { instanceOf: RangeError });
  t.throws(() => deriveTimers({ t1: 500, t2: 400, t4: 5000 }, false), { message: /T2/ });
  t.throws(() => deriveTimers({ t1: 500, t2: 4000, t4: Number.NaN }, false));
  const err = t.throws(
    () => new TransactionLayer({ send: () => true, onRequest: () => {}, timers: { t1: -1 } }),
  );
  t.is((err as { code?: string }).code, 'TG_SIPTX_BAD_OPTION');
});

test('backoff doubles, capped at T2 for E and G, uncapped for A', (t) => {
  const capped: number[] = [500];
  const uncapped: number[] = [500];
  for (let i = 0; i < 6; i++) {
    capped.push(backoff(capped.at(-1)!, 4000, true));
    uncapped.push(backoff(uncapped.at(-1)!, 4000, false));
  }
  t.deepEqual(capped, [500, 1000, 2000, 4000, 4000, 4000, 4000]);
  t.deepEqual(uncapped, [500, 1000, 2000, 4000, 8000, 16000, 32000]);
});
