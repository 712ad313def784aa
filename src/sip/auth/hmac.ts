// HMAC-SHA256 (RFC 2104) for a MAC computed on every REGISTER: the key's inner and outer
// pad blocks are computed once, and each MAC is two one-shot crypto.hash() calls,
//
//   HMAC(K, m) = SHA256( (K ^ opad) | SHA256( (K ^ ipad) | m ) )
//
// which is byte for byte what createHmac gives, without a Hmac object (and a copy of the
// key into it) per MAC. The digests come back as strings: crypto.hash() is several times
// slower when asked for a Buffer (`binary` is latin1: one byte per character).
import { hash } from 'node:crypto';

const BLOCK = 64; // SHA-256 block size, bytes
const DIGEST = 32;

export class HmacSha256 {
  /** K ^ ipad, then the message (grown when a message does not fit). */
  #inner: Buffer;
  /** K ^ opad, then the inner digest. */
  readonly #outer = Buffer.alloc(BLOCK + DIGEST);

  constructor(key: Buffer) {
    // RFC 2104 §2: a key longer than the block is hashed first; a shorter one is zero-padded.
    const k = key.length > BLOCK ? Buffer.from(hash('sha256', key, 'binary'), 'binary') : key;
    this.#inner = Buffer.alloc(BLOCK + 256);
    for (let i = 0; i < BLOCK; i++) {
      const byte = i < k.length ? k[i]! : 0;
      this.#inner[i] = byte ^ 0x36;
      this.#outer[i] = byte ^ 0x5c;
    }
  }

  /** MAC of `bytes` followed by the UTF-8 of `text`, as base64url (43 characters). */
  base64url(bytes: Uint8Array, text: string): string {
    // UTF-8 takes at most 3 bytes per UTF-16 code unit: an upper bound without a scan.
    const need = BLOCK + bytes.length + text.length * 3;
    if (need > this.#inner.length) {
      const grown = Buffer.alloc(need);
      this.#inner.copy(grown, 0, 0, BLOCK);
      this.#inner = grown;
    }
    const inner = this.#inner;
    inner.set(bytes, BLOCK);
    const end = BLOCK + bytes.length + inner.write(text, BLOCK + bytes.length, 'utf8');
    this.#outer.write(hash('sha256', inner.subarray(0, end), 'binary'), BLOCK, 'binary');
    return hash('sha256', this.#outer, 'base64url');
  }
}
