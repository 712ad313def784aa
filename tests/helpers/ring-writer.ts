// The writing side of a ByteRing in another thread (tests/sip/byte-ring.test.ts): writes
// `count` records, record i being i's 4 octets then (i % 997) octets of (i & 0xff), waiting
// for room when the ring is full, and waking the reader after each.
import { workerData } from 'node:worker_threads';
import { ByteRing } from '../../src/sip/transport/byte-ring.ts';

const { shared, count } = workerData as { shared: SharedArrayBuffer; count: number };
const ring = new ByteRing(shared);
const pause = new Int32Array(new SharedArrayBuffer(4));
for (let i = 0; i < count; i++) {
  const length = 4 + (i % 997);
  let at = ring.reserve(length);
  while (at < 0) {
    Atomics.wait(pause, 0, 0, 1); // until the reader frees room
    at = ring.reserve(length);
  }
  ring.bytes.writeUInt32LE(i, at);
  ring.bytes.fill(i & 0xff, at + 4, at + length);
  ring.publish();
  ring.wake();
}
