// Crafted Ethernet frames for BPF_PROG_TEST_RUN: exactly the bytes a NIC would hand to XDP,
// built field by field so a test can say "two VLAN tags, IPv4 with 8 bytes of options, a
// non-first fragment" and get that. Checksums are left zero: XDP does not verify them.
import { addrBytes } from '../../src/dataplane/addr-bytes.ts';

export const ETH_P_IP = 0x0800;
export const ETH_P_IPV6 = 0x86dd;
export const ETH_P_ARP = 0x0806;
export const ETH_P_8021Q = 0x8100;
export const ETH_P_8021AD = 0x88a8;
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_ICMP = 1;

export interface V6ExtHeader {
  /** 0 hop-by-hop, 43 routing, 60 destination options, 51 AH, 44 fragment. */
  type: number;
  /** Total header length in bytes (multiple of 8; AH: multiple of 4); fragment is always 8. */
  length?: number;
}

export interface FrameSpec {
  src: string;
  dst?: string;
  /** Outer first. Two tags: 802.1ad outer + 802.1Q inner unless tpids says otherwise. */
  vlans?: number[];
  tpids?: number[];
  /** 'udp' | 'tcp' | an IP protocol number. */
  proto?: 'udp' | 'tcp' | number;
  sport?: number;
  /** Destination port; 4000 by default (neither a signaling nor a media port). */
  dport?: number;
  /** IPv4 options (padded to a multiple of 4). */
  ipOptions?: number;
  /** IPv6 extension headers, in order, before the L4 header. */
  v6Ext?: V6ExtHeader[];
  /** Fragment offset in bytes (multiple of 8) and the more-fragments flag. */
  fragment?: { offset: number; more: boolean };
  payload?: number;
  /**
   * Cut the finished frame to this many bytes. The IP length field is rewritten to match
   * (a short but self-consistent packet, as a tiny-fragment attack sends) unless
   * keepLength is set (the header then claims more than the frame holds).
   */
  truncate?: number;
  keepLength?: boolean;
  /** Override the ethertype (e.g. ARP). */
  ethertype?: number;
}

function u16(out: number[], v: number): void {
  out.push((v >> 8) & 0xff, v & 0xff);
}

function l4Header(spec: FrameSpec, protoNumber: number): number[] {
  const out: number[] = [];
  if (protoNumber === IPPROTO_UDP) {
    u16(out, spec.sport ?? 40000);
    u16(out, spec.dport ?? 4000);
    u16(out, 8 + (spec.payload ?? 16));
    u16(out, 0);
  } else if (protoNumber === IPPROTO_TCP) {
    u16(out, spec.sport ?? 40000);
    u16(out, spec.dport ?? 4000);
    out.push(0, 0, 0, 1, 0, 0, 0, 0); // seq, ack
    out.push(5 << 4, 0x02); // data offset 5 words, SYN
    u16(out, 65535);
    out.push(0, 0, 0, 0); // checksum, urgent
  } else {
    out.push(8, 0, 0, 0, 0, 0, 0, 0); // ICMP echo-ish
  }
  return out;
}

export function frame(spec: FrameSpec): Uint8Array {
  const src = addrBytes(spec.src);
  const dst = addrBytes(spec.dst ?? (src.family === 4 ? '198.51.100.1' : '2001:db8:ffff::1'));
  const protoNumber =
    spec.proto === undefined || spec.proto === 'udp'
      ? IPPROTO_UDP
      : spec.proto === 'tcp'
        ? IPPROTO_TCP
        : spec.proto;
  const out: number[] = [];
  out.push(0x02, 0, 0, 0, 0, 0x01, 0x02, 0, 0, 0, 0, 0x02); // dst, src MAC
  const vlans = spec.vlans ?? [];
  const tpids = spec.tpids ?? (vlans.length === 2 ? [ETH_P_8021AD, ETH_P_8021Q] : [ETH_P_8021Q]);
  const ethertype = spec.ethertype ?? (src.family === 4 ? ETH_P_IP : ETH_P_IPV6);
  vlans.forEach((vid, i) => {
    u16(out, tpids[i] ?? ETH_P_8021Q);
    u16(out, vid);
  });
  u16(out, ethertype);

  const l4 = spec.fragment && spec.fragment.offset > 0 ? [] : l4Header(spec, protoNumber);
  const payload = new Array<number>(spec.payload ?? 16).fill(0x61);
  if (src.family === 4) {
    const opts = spec.ipOptions ?? 0;
    const hdrLen = 20 + Math.ceil(opts / 4) * 4;
    const total = hdrLen + l4.length + payload.length;
    out.push(0x40 | (hdrLen / 4), 0);
    u16(out, total);
    u16(out, 0x1234);
    const frag = spec.fragment ? (spec.fragment.more ? 0x2000 : 0) | (spec.fragment.offset / 8) : 0;
    u16(out, frag);
    out.push(64, protoNumber, 0, 0);
    out.push(...src.bytes, ...dst.bytes);
    for (let i = 0; i < hdrLen - 20; i++) out.push(0x01); // NOP options (RFC 791)
  } else {
    const ext = [...(spec.v6Ext ?? [])];
    if (spec.fragment) ext.push({ type: 44 });
    const extBytes: number[] = [];
    ext.forEach((h, i) => {
      const next = i + 1 < ext.length ? ext[i + 1]!.type : protoNumber;
      if (h.type === 44) {
        extBytes.push(next, 0);
        u16(extBytes, (spec.fragment?.offset ?? 0) | (spec.fragment?.more ? 1 : 0));
        extBytes.push(0, 0, 0x12, 0x34);
      } else if (h.type === 51) {
        const len = h.length ?? 12;
        extBytes.push(next, len / 4 - 2, ...new Array<number>(len - 2).fill(0));
      } else {
        const len = h.length ?? 8;
        extBytes.push(next, len / 8 - 1, 1, len - 4, ...new Array<number>(len - 4).fill(0)); // PadN
      }
    });
    const payloadLen = extBytes.length + l4.length + payload.length;
    out.push(0x60, 0, 0, 0);
    u16(out, payloadLen);
    out.push(ext.length > 0 ? ext[0]!.type : protoNumber, 64);
    out.push(...src.bytes, ...dst.bytes);
    out.push(...extBytes);
  }
  out.push(...l4, ...payload);
  const bytes = Uint8Array.from(out);
  if (spec.truncate === undefined) return bytes;
  const cut = bytes.slice(0, spec.truncate);
  const l3 = l3Offset(spec);
  const view = new DataView(cut.buffer);
  if (!spec.keepLength && src.family === 4 && cut.length >= l3 + 20)
    view.setUint16(l3 + 2, cut.length - l3, false);
  if (!spec.keepLength && src.family === 6 && cut.length >= l3 + 40)
    view.setUint16(l3 + 4, cut.length - l3 - 40, false);
  return cut;
}

/** Byte offset where the IP header starts (after Ethernet and VLAN tags). */
export function l3Offset(spec: FrameSpec): number {
  return 14 + 4 * (spec.vlans?.length ?? 0);
}
