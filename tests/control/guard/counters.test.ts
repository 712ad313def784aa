import test from 'ava';
import fc from 'fast-check';
import { hashKey, hashPair, WindowedCounters } from '../../../src/control/guard/counters.ts';

test('counts per key within a window, and a new window starts at 1 after the period', (t) => {
  const c = new WindowedCounters({ periodMs: 1000, capacity: 64 });
  t.is(c.add('1.2.3.4', 0), 1);
  t.is(c.add('1.2.3.4', 500), 2);
  t.is(c.add('5.6.7.8', 500), 1);
  t.is(c.add('1.2.3.4', 999), 3);
  t.is(c.get('1.2.3.4', 999), 3);
  // The window opened at 0; at 1000 it is over.
  t.is(c.get('1.2.3.4', 1000), 0);
  t.is(c.add('1.2.3.4', 1000), 1);
  t.is(c.windowStart('1.2.3.4', 1000), 1000);
  t.is(c.windowStart('9.9.9.9', 1000), undefined);
});

test("the window is per key: it opens at the key's own first event", (t) => {
  const c = new WindowedCounters({ periodMs: 1000, capacity: 64 });
  c.add('a', 0);
  c.add('b', 900);
  t.is(c.add('a', 1100), 1, 'a: new window');
  t.is(c.add('b', 1100), 2, 'b: still inside its window (900..1900)');
});

test('tripOnce fires once per window, again after the window reopens', (t) => {
  const c = new WindowedCounters({ periodMs: 1000, capacity: 64 });
  c.add('k', 0);
  t.true(c.tripOnce());
  c.add('k', 10);
  t.false(c.tripOnce());
  c.add('k', 1500);
  t.true(c.tripOnce());
});

test('the first value is kept for the window and cleared when it reopens', (t) => {
  const c = new WindowedCounters<string>({ periodMs: 1000, capacity: 64 });
  c.add('k', 0);
  c.setFirst('first message');
  c.add('k', 10);
  t.is(c.lastFirst(), 'first message');
  t.is(c.lastStart(), 0);
  c.add('k', 2000);
  t.is(c.lastFirst(), undefined);
  t.is(c.lastStart(), 2000);
});

test('delete and clear forget keys', (t) => {
  const c = new WindowedCounters({ periodMs: 1000, capacity: 64 });
  c.add('a', 0);
  c.add('b', 0);
  t.true(c.delete('a'));
  t.false(c.delete('a'));
  t.is(c.get('a', 1), 0);
  t.is(c.size, 1);
  c.clear();
  t.is(c.size, 0);
  t.is(c.get('b', 1), 0);
});

test('a live period change applies to running windows', (t) => {
  const c = new WindowedCounters({ periodMs: 10_000, capacity: 64 });
  c.add('k', 0);
  c.add('k', 1);
  c.periodMs = 1000;
  t.is(c.add('k', 1500), 1);
});

test('bad capacity and period are refused with coded errors', (t) => {
  t.throws(() => new WindowedCounters({ periodMs: 1000, capacity: 3 }), {
    code: 'TG_GUARD_BAD_CAPACITY',
  });
  t.throws(() => new WindowedCounters({ periodMs: 0, capacity: 64 }), {
    code: 'TG_GUARD_BAD_PERIOD',
  });
  t.throws(() => new WindowedCounters({ periodMs: Number.NaN, capacity: 64 }), {
    code: 'TG_GUARD_BAD_PERIOD',
  });
});

test('capacity is a power-of-two number of buckets times the ways', (t) => {
  const c = new WindowedCounters({ periodMs: 1000, capacity: 1000, ways: 8 });
  t.is(c.capacity, 1024);
});

test('a full bucket evicts an expired key before a live one, then the lightest', (t) => {
  // Capacity 8 with 8 ways is one bucket: every key lands in it.
  const c = new WindowedCounters({ periodMs: 1000, capacity: 8, ways: 8 });
  for (let i = 0; i < 8; i++) c.add(`k${i}`, 0);
  for (let n = 0; n < 5; n++) c.add('k3', 1); // the heavy one
  c.add('new1', 2);
  t.is(c.size, 8);
  t.is(c.get('k3', 3), 6, 'the heavy key survives');
  t.is(c.evictions, 1);
  // After the period every old key is expired: a newcomer takes an expired slot.
  c.add('late', 1500);
  t.is(c.evictions, 1, 'expired slots are reused without counting an eviction');
});

test('1,000,000 distinct sources stay under the cap and a heavy hitter is counted exactly', (t) => {
  const cap = 65_536;
  const c = new WindowedCounters({ periodMs: 180_000, capacity: cap });
  let heavy = 0;
  let maxSize = 0;
  for (let i = 0; i < 1_000_000; i++) {
    const ip = `${(i >>> 16) & 255}.${(i >>> 8) & 255}.${i & 255}.${(i * 7) & 255}`;
    c.add(ip, i / 10);
    if (i % 20 === 0) heavy = c.add('203.0.113.66', i / 10);
    if ((i & 0xffff) === 0) maxSize = Math.max(maxSize, c.size);
  }
  maxSize = Math.max(maxSize, c.size);
  t.true(maxSize <= cap, `size ${maxSize} ≤ ${cap}`);
  t.is(c.size, c.capacity);
  t.is(heavy, 50_000, 'not one event of the heavy hitter lost to eviction');
  t.true(c.evictions > 900_000, 'the one-packet tail evicted itself');
});

test('property: without evictions, counts equal a plain per-key window model', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.tuple(fc.integer({ min: 0, max: 20 }), fc.integer({ min: 0, max: 300 })), {
        maxLength: 200,
      }),
      (steps) => {
        const c = new WindowedCounters({ periodMs: 100, capacity: 1024 });
        const model = new Map<string, { start: number; count: number }>();
        let now = 0;
        for (const [k, dt] of steps) {
          now += dt;
          const key = `10.0.0.${k}`;
          let m = model.get(key);
          if (m === undefined || now - m.start >= 100) {
            m = { start: now, count: 0 };
            model.set(key, m);
          }
          m.count++;
          if (c.add(key, now) !== m.count) return false;
        }
        return true;
      },
    ),
  );
  t.pass();
});

test('hashKey spreads dotted quads over buckets', (t) => {
  const buckets = new Uint32Array(1024);
  for (let i = 0; i < 102_400; i++)
    buckets[hashKey(`10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`) & 1023]!++;
  const max = Math.max(...buckets);
  const min = Math.min(...buckets);
  t.true(max < 160 && min > 50, `bucket load ${min}..${max} around 100`);
});

test('pair keys: addPair(a, b) is the key "a\\nb", made without building it for a known pair', (t) => {
  for (const [a, b] of [
    ['198.51.100.7', 'alice'],
    ['2001:db8::1', ''],
    ['', 'x'],
    ['10.0.0.1', 'ünïcode-user'],
  ] as const)
    t.is(hashPair(a, b), hashKey(`${a}\n${b}`));
  const c = new WindowedCounters({ periodMs: 1000, capacity: 64 });
  t.is(c.addPair('198.51.100.7', 'alice', 0), 1);
  t.is(c.add('198.51.100.7\nalice', 1), 2, 'the same key as the string form');
  t.is(c.addPair('198.51.100.7', 'alice', 2), 3);
  // Same total length, separator elsewhere: other keys.
  t.is(c.addPair('198.51.100.7a', 'lice', 3), 1);
  t.is(c.addPair('198.51.100.', '7\nalice', 4), 1);
  t.is(c.size, 3);
  t.is(c.addPair('198.51.100.7', 'alice', 1000), 1, 'a new window after the period');
});

test('addHashed and deleteHashed are add and delete with the hash given', (t) => {
  const c = new WindowedCounters({ periodMs: 1000, capacity: 64 });
  const h = hashKey('203.0.113.20');
  t.is(c.addHashed('203.0.113.20', h, 0), 1);
  t.is(c.add('203.0.113.20', 1), 2);
  t.true(c.deleteHashed('203.0.113.20', h));
  t.false(c.deleteHashed('203.0.113.20', h));
  t.is(c.get('203.0.113.20', 2), 0);
});
