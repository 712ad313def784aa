// Userspace side of tg_cidr_hint (see TG_CIDR_HINT_WORDS in bpf/tollgate.h): for each IPv4
// /24 block, one bit says "some allow rule overlaps this block", another "some deny rule
// does". The XDP program walks the big LPM tries only for hinted blocks, so the common case
// (a source far from every rule) costs one array read instead of two trie walks.
//
// A block stays hinted while at least one rule of that list overlaps it: reference counts per
// block (Uint16Array: at most 511 prefixes of length >= 24 fit in a /24, plus 24 shorter
// ones) decide when a bit may be cleared. A mirror of the bitmap lets one word be rewritten
// without reading it back. Both are allocated on the first IPv4 rule (36 MiB in all).
import { MAP_NAMES, TG_CIDR_HINT_BIT, TG_CIDR_HINT_WORDS } from './layout.ts';
import type { BpfMap } from './libbpf.ts';

export type CidrList = 'allow' | 'deny';

const BLOCKS_PER_WORD = 32;

export class CidrHints {
  private readonly map: BpfMap;
  private refs: Record<CidrList, Uint16Array> | null = null;
  private words: BigUint64Array | null = null;

  constructor(map: BpfMap) {
    if (map.name !== MAP_NAMES.cidrHint || map.maxEntries !== TG_CIDR_HINT_WORDS)
      throw new Error(`${map.name} is not a ${TG_CIDR_HINT_WORDS}-word CIDR hint map`);
    this.map = map;
  }

  /** Marks the /24 blocks of prefix; call BEFORE inserting the rule into its trie. */
  add(list: CidrList, addr: Uint8Array, prefix: number): void {
    this.change(list, addr, prefix, +1);
  }

  /** Unmarks what no other rule still covers; call AFTER deleting the rule from its trie. */
  remove(list: CidrList, addr: Uint8Array, prefix: number): void {
    this.change(list, addr, prefix, -1);
  }

  private change(list: CidrList, addr: Uint8Array, prefix: number, delta: 1 | -1): void {
    if (this.refs === null || this.words === null) {
      this.refs = { allow: new Uint16Array(1 << 24), deny: new Uint16Array(1 << 24) };
      this.words = new BigUint64Array(TG_CIDR_HINT_WORDS);
    }
    const refs = this.refs[list];
    const words = this.words;
    const bit = BigInt(
      list === 'allow' ? TG_CIDR_HINT_BIT.TG_HINT_ALLOW : TG_CIDR_HINT_BIT.TG_HINT_DENY,
    );
    const block = ((addr[0]! << 16) | (addr[1]! << 8) | addr[2]!) >>> 0;
    const count = prefix >= 24 ? 1 : 2 ** (24 - prefix);
    const first = prefix >= 24 ? block : block - (block % count);
    const dirty = new Set<number>();
    for (let b = first; b < first + count; b++) {
      const before = refs[b]!;
      if (delta < 0 && before === 0) continue; // never below zero, even on a caller's mistake
      refs[b] = before + delta;
      const flips = delta > 0 ? before === 0 : before === 1;
      if (flips) {
        const w = Math.floor(b / BLOCKS_PER_WORD);
        const mask = bit << BigInt((b % BLOCKS_PER_WORD) * 2);
        words[w] = delta > 0 ? words[w]! | mask : words[w]! & ~mask;
        dirty.add(w);
      }
    }
    const key = new Uint8Array(4);
    const keyView = new DataView(key.buffer);
    const value = new Uint8Array(8);
    const valueView = new DataView(value.buffer);
    for (const w of dirty) {
      keyView.setUint32(0, w, true);
      valueView.setBigUint64(0, words[w]!, true);
      this.map.update(key, value);
    }
  }
}
