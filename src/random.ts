// Random bytes for identifiers made on every message (tags, branches, nonces). One
// randomBytes() call per identifier costs a system call's worth of work each time; taking
// slices of a pooled 4 KiB block from the same CSPRNG costs a copy. Never for keys or
// passwords: those call node:crypto directly.
import { randomFillSync } from 'node:crypto';

const POOL_SIZE = 4096;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let offset = POOL_SIZE;

/** `length` fresh random bytes (a new Buffer, at most POOL_SIZE). */
export function randomId(length: number): Buffer {
  if (offset + length > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const out = Buffer.from(pool.subarray(offset, offset + length));
  // Bytes handed out are never handed out again.
  offset += length;
  return out;
}
