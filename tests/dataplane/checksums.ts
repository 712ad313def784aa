// Full (not incremental) Internet checksums of a frame, RFC 1071: to give crafted frames
// valid checksums before a run, and to check what the program's incremental updates
// (RFC 1624) left. Untagged Ethernet, IPv4 (any IHL) or IPv6 without extension headers.

function sum16(bytes: Uint8Array, start: number, end: number, acc = 0): number {
  for (let i = start; i < end; i += 2) acc += (bytes[i]! << 8) | (i + 1 < end ? bytes[i + 1]! : 0);
  return acc;
}

function fold(acc: number): number {
  while (acc > 0xffff) acc = (acc & 0xffff) + Math.floor(acc / 0x10000);
  return acc;
}

interface Layout {
  v6: boolean;
  l3: number;
  l4: number;
  udpLen: number;
}

function layout(f: Uint8Array): Layout {
  const l3 = 14;
  const v6 = f[l3]! >> 4 === 6;
  const l4 = v6 ? l3 + 40 : l3 + (f[l3]! & 0xf) * 4;
  return { v6, l3, l4, udpLen: (f[l4 + 4]! << 8) | f[l4 + 5]! };
}

function udpSum(f: Uint8Array, L: Layout): number {
  // Pseudo-header (RFC 768 / RFC 8200 8.1): addresses, protocol, UDP length.
  let acc = L.v6 ? sum16(f, L.l3 + 8, L.l3 + 40) : sum16(f, L.l3 + 12, L.l3 + 20);
  acc += 17 + L.udpLen;
  acc = sum16(f, L.l4, L.l4 + 6, acc); // ports and length, the checksum field left out
  acc = sum16(f, L.l4 + 8, L.l4 + L.udpLen, acc);
  const c = ~fold(acc) & 0xffff;
  return c === 0 ? 0xffff : c;
}

/** Writes valid IPv4 header and UDP checksums (udpZero: leave the IPv4 UDP checksum 0). */
export function fillChecksums(f: Uint8Array, udpZero = false): Uint8Array {
  const L = layout(f);
  const v = new DataView(f.buffer, f.byteOffset, f.byteLength);
  if (!L.v6) {
    v.setUint16(L.l3 + 10, 0);
    v.setUint16(L.l3 + 10, ~fold(sum16(f, L.l3, L.l4)) & 0xffff);
  }
  v.setUint16(L.l4 + 6, 0);
  if (!udpZero || L.v6) v.setUint16(L.l4 + 6, udpSum(f, L));
  return f;
}

/** Whether the frame's checksums verify; udp 'none' = an IPv4 UDP checksum of 0. */
export function checksumsOf(f: Uint8Array): { ip: boolean; udp: boolean | 'none' } {
  const L = layout(f);
  const ip = L.v6 || fold(sum16(f, L.l3, L.l4)) === 0xffff;
  const field = (f[L.l4 + 6]! << 8) | f[L.l4 + 7]!;
  if (!L.v6 && field === 0) return { ip, udp: 'none' };
  return { ip, udp: field === udpSum(f, L) };
}
