// ByteRing: the bounded queue of byte records the UDP thread and the main thread share. What
// is written comes out whole and in order, across the end of the buffer; a full ring refuses
// and keeps what it holds; and across two threads nothing is lost, torn or left unwoken.
import { Worker } from 'node:worker_threads';
import test from 'ava';
import fc from 'fast-check';
import { ByteRing } from '../../src/sip/transport/byte-ring.ts';

function write(ring: ByteRing, data: Buffer): boolean {
  const at = ring.reserve(data.length);
  if (at < 0) return false;
  data.copy(ring.bytes, at);
  ring.publish();
  return true;
}

function read(ring: ByteRing): Buffer | undefined {
  const at = ring.peek();
  if (at < 0) return undefined;
  const copy = Buffer.from(ring.bytes.subarray(at, at + ring.length));
  ring.consume();
  return copy;
}

test('records come out whole and in order, however writes and reads interleave and wrap', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.oneof(fc.integer({ min: 0, max: 300 }), fc.constant(-1)), { maxLength: 400 }),
      (steps) => {
        const ring = new ByteRing(1024);
        const waiting: Buffer[] = [];
        let n = 0;
        for (const step of steps) {
          if (step < 0) {
            const got = read(ring);
            if (waiting.length === 0) {
              if (got !== undefined) return false;
            } else if (got === undefined || !got.equals(waiting.shift()!)) return false;
            continue;
          }
          const data = Buffer.alloc(step, n++ & 0xff);
          if (write(ring, data)) waiting.push(data);
        }
        for (const expected of waiting) if (!read(ring)?.equals(expected)) return false;
        return read(ring) === undefined;
      },
    ),
  );
  t.pass();
});

test('a full ring refuses a record and keeps every record it already holds', (t) => {
  const ring = new ByteRing(1024);
  const kept: Buffer[] = [];
  for (let i = 0; ; i++) {
    const data = Buffer.alloc(100, i);
    if (!write(ring, data)) break;
    kept.push(data);
  }
  t.true(kept.length >= 8, `${kept.length} records of 100 octets fit in 1024`);
  t.false(write(ring, Buffer.alloc(100)), 'still full');
  t.true(read(ring)!.equals(kept.shift()!));
  t.true(read(ring)!.equals(kept.shift()!));
  t.true(write(ring, Buffer.alloc(100, 0xee)), 'room again once enough is read');
  kept.push(Buffer.alloc(100, 0xee));
  for (const expected of kept) t.true(read(ring)!.equals(expected));
  t.is(read(ring), undefined);
});

test('a record larger than half the ring is refused outright', (t) => {
  const ring = new ByteRing(1024);
  t.is(ring.reserve(ring.maxRecord + 1), -1);
  t.true(write(ring, Buffer.alloc(ring.maxRecord)));
  t.is(read(ring)!.length, ring.maxRecord);
});

test('records written by another thread all arrive, whole and in order, each woken for', async (t) => {
  const count = 100_000;
  const ring = new ByteRing(64 * 1024);
  const writer = new Worker(new URL('../helpers/ring-writer.ts', import.meta.url), {
    workerData: { shared: ring.shared, count },
  });
  const exited = new Promise((resolve) => writer.once('exit', resolve));
  let next = 0;
  let torn = 0;
  while (next < count) {
    const at = ring.peek();
    if (at < 0) {
      // Waits to be woken: a wake-up lost between peek() and here would hang the test.
      await ring.waitAsync();
      continue;
    }
    const i = ring.bytes.readUInt32LE(at);
    if (i !== next || ring.length !== 4 + (i % 997)) break;
    for (let k = at + 4; k < at + ring.length; k++) if (ring.bytes[k] !== (i & 0xff)) torn++;
    ring.consume();
    next++;
  }
  await exited;
  t.is(next, count, 'every record, in order');
  t.is(torn, 0, 'no record read before it was whole');
  t.is(ring.peek(), -1);
  t.is(ring.consumedRecords(), count);
});
