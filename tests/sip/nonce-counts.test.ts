import test from 'ava';
import { NonceCounts } from '../../src/sip/auth/nonce-counts.ts';

/** The same rules on a Map, in the plainest form: the reference the table must agree with. */
class Model {
  readonly counts = new Map<string, { nc: number; recounted: boolean }>();
  readonly order: string[] = [];
  readonly limit: number;
  constructor(limit: number) {
    this.limit = limit;
  }
  count(key: string, nc: number): string {
    const entry = this.counts.get(key);
    if (entry !== undefined) {
      if (nc <= entry.nc) return 'replay';
      entry.nc = nc;
      entry.recounted = true;
      return 'valid';
    }
    if (nc !== 1) return 'stale';
    if (this.counts.size === this.limit) {
      for (;;) {
        const oldest = this.order.shift()!;
        const held = this.counts.get(oldest)!;
        if (!held.recounted) {
          this.counts.delete(oldest);
          break;
        }
        held.recounted = false;
        this.order.push(oldest);
      }
    }
    this.counts.set(key, { nc, recounted: false });
    this.order.push(key);
    return 'valid';
  }
}

/** A small deterministic generator (tests must not depend on luck). */
function lcg(seed: number): () => number {
  let state = seed;
  return () => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return state >>> 2;
  };
}

test('the table agrees with a Map model, with crowded home slots and evictions', (t) => {
  for (const limit of [1, 2, 7, 10, 64]) {
    const table = new NonceCounts(limit);
    const model = new Model(limit);
    const next = lcg(limit);
    const keys: [number, number, number][] = [];
    for (let i = 0; i < 5 * limit + 20; i++) {
      // Few distinct low bits of word1: many keys share a home slot and long runs form,
      // so removals have entries to shift back (also across the end of the table).
      const word1 = ((next() & 0x3fff0000) | (next() % 5)) + (i % 2 ? 30 : 0);
      keys.push([next() & 0x3fffffff, word1, next() & 0x3fffffff]);
    }
    for (let step = 0; step < 20_000; step++) {
      const index = next() % keys.length;
      const [w0, w1, w2] = keys[index]!;
      const roll = next() % 4;
      const nc = roll === 0 ? 1 : roll === 1 ? 2 + (next() % 6) : 1 + (next() % 3);
      const expected = model.count(String(index), nc);
      const got = table.count(w0, w1, w2, nc);
      if (got !== expected) {
        t.fail(`limit ${limit}, step ${step}: key ${index} nc ${nc}: ${got}, model ${expected}`);
        return;
      }
      if (table.size !== model.counts.size) {
        t.fail(`limit ${limit}, step ${step}: size ${table.size}, model ${model.counts.size}`);
        return;
      }
    }
    t.pass();
  }
});

test('keys differing in any word are different nonces', (t) => {
  const table = new NonceCounts(10);
  t.is(table.count(1, 2, 3, 1), 'valid');
  t.is(table.count(0, 2, 3, 1), 'valid');
  t.is(table.count(1, 0, 3, 1), 'valid');
  t.is(table.count(1, 2, 0, 1), 'valid');
  t.is(table.count(1, 2, 3, 1), 'replay');
  t.is(table.count(0, 2, 3, 0xffffffff), 'valid', 'nonce-counts up to 2^32 - 1');
  t.is(table.count(0, 2, 3, 0xffffffff), 'replay');
  t.is(table.size, 4);
});

test('without recounts, eviction goes in the order nonces were first counted', (t) => {
  const table = new NonceCounts(3);
  for (let k = 1; k <= 3; k++) t.is(table.count(k, k, k, 1), 'valid');
  t.is(table.count(4, 4, 4, 1), 'valid'); // pushes out 1
  t.is(table.count(1, 1, 1, 2), 'stale');
  t.is(table.count(2, 2, 2, 1), 'replay');
  t.is(table.count(2, 2, 2, 2), 'valid'); // 2 gets a second chance: 3 goes next
  t.is(table.count(5, 5, 5, 1), 'valid');
  t.is(table.count(3, 3, 3, 2), 'stale');
  t.is(table.count(2, 2, 2, 3), 'valid');
});

test('the tracker size is checked', (t) => {
  for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 28]) t.throws(() => new NonceCounts(bad));
});
