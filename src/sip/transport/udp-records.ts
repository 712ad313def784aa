// The records the main thread and the UDP thread exchange through their two ByteRings
// (udp-thread.ts, udp-thread-worker.ts). One layout for all of them:
//
//   0  kind      u8
//   2  socket    u16   which of the process's UDP sockets
//   4  port      u16   the peer's port (or the bound port, in OPENED)
//   6  textSize  u16
//   8  id        u32   the send's callback (0: none)
//  12  text      latin1: the peer's address, or an error's code and message
//  12+textSize   the datagram
import type { ByteRing } from './byte-ring.ts';

/** main → UDP thread */
export const SEND = 1;
export const CLOSE = 2;
/** UDP thread → main */
export const DATAGRAM = 3;
export const SENT = 4;
export const OPENED = 5;
export const CLOSED = 6;

const HEADER = 12;

/** Counter slots (ByteRing.count), in either ring: records dropped because it was full. */
export const QUEUE_FULL = 0;
/** In the ring towards main: datagrams dropped because their address had more than its share. */
export const OVER_SHARE = 1;

/** Writes one record; false when the ring has no room for it (nothing is written then). */
export function put(
  ring: ByteRing,
  kind: number,
  socket: number,
  port: number,
  text: string,
  id: number,
  data?: Uint8Array,
): boolean {
  const textSize = text.length;
  const at = ring.reserve(HEADER + textSize + (data === undefined ? 0 : data.length));
  if (at < 0) return false;
  const b = ring.bytes;
  b[at] = kind;
  b.writeUInt16LE(socket, at + 2);
  b.writeUInt16LE(port, at + 4);
  b.writeUInt16LE(textSize, at + 6);
  b.writeUInt32LE(id, at + 8);
  if (textSize > 0) b.write(text, at + HEADER, textSize, 'latin1');
  if (data !== undefined) b.set(data, at + HEADER + textSize);
  ring.publish();
  return true;
}

// Readers of the record at `at` (ByteRing.peek()), while it is not yet consumed.

export function kindOf(ring: ByteRing, at: number): number {
  return ring.bytes[at]!;
}

export function socketOf(ring: ByteRing, at: number): number {
  return ring.bytes.readUInt16LE(at + 2);
}

export function portOf(ring: ByteRing, at: number): number {
  return ring.bytes.readUInt16LE(at + 4);
}

export function idOf(ring: ByteRing, at: number): number {
  return ring.bytes.readUInt32LE(at + 8);
}

export function textOf(ring: ByteRing, at: number): string {
  const size = ring.bytes.readUInt16LE(at + 6);
  return size === 0 ? '' : ring.bytes.toString('latin1', at + HEADER, at + HEADER + size);
}

/** A copy of the record's datagram: the ring's room is reused once the record is consumed. */
export function dataOf(ring: ByteRing, at: number): Buffer {
  const start = at + HEADER + ring.bytes.readUInt16LE(at + 6);
  const end = at + ring.length;
  const copy = Buffer.allocUnsafe(end - start);
  ring.bytes.copy(copy, 0, start, end);
  return copy;
}
