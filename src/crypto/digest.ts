// SIP digest authentication (RFC 3261 §22.4, RFC 8760 for SHA-256 and SHA-512-256, with the
// computation of RFC 7616 §3.4). Only qop=auth is offered: auth-int would hash bodies on the
// hot path for no real gain in SIP, and RFC 2069 (no qop) has no replay protection.
//
//   HA1      = H(username ":" realm ":" password)        -- stored per algorithm, never the password
//   HA2      = H(method ":" digest-uri)
//   response = H(HA1 ":" nonce ":" nc ":" cnonce ":" qop ":" HA2)
import { hash as oneShotHash } from 'node:crypto';

export const DIGEST_ALGORITHMS = ['MD5', 'SHA-256', 'SHA-512-256'] as const;
export type DigestAlgorithm = (typeof DIGEST_ALGORITHMS)[number];

const NODE_HASH: Record<DigestAlgorithm, string> = {
  MD5: 'md5',
  'SHA-256': 'sha256',
  'SHA-512-256': 'sha512-256',
};

export function hash(algorithm: DigestAlgorithm, text: string): string {
  // SIP text is UTF-8 (RFC 3261 §7.3.1); usernames with non-ASCII characters hash as UTF-8
  // (crypto.hash encodes a string as UTF-8). One-shot: no Hash object per digest.
  return oneShotHash(NODE_HASH[algorithm], text, 'hex');
}

export function computeHa1(
  algorithm: DigestAlgorithm,
  username: string,
  realm: string,
  password: string,
): string {
  return hash(algorithm, `${username}:${realm}:${password}`);
}

export interface DigestResponseInput {
  algorithm: DigestAlgorithm;
  ha1: string;
  method: string;
  uri: string;
  nonce: string;
  nc: string;
  cnonce: string;
  qop: 'auth';
}

export function computeResponse(i: DigestResponseInput): string {
  const ha2 = hash(i.algorithm, `${i.method}:${i.uri}`);
  return hash(i.algorithm, `${i.ha1}:${i.nonce}:${i.nc}:${i.cnonce}:${i.qop}:${ha2}`);
}

/** Constant-time comparison of two hex digests (a timing leak would help a password guesser). */
export function digestsEqual(a: string, b: string): boolean {
  return constantTimeEqual(a.toLowerCase(), b.toLowerCase());
}

/**
 * String equality in a time that depends only on the length: every code unit is compared,
 * with no early exit and no branch on the contents (what timingSafeEqual does for Buffers,
 * without making two Buffers per comparison). Lengths are public (digests and MACs have a
 * fixed one), so a length mismatch may return at once.
 */
export function constantTimeEqual(a: string, b: string): boolean {
  if (a.length !== b.length) return false;
  let diff = 0;
  for (let i = 0; i < a.length; i++) diff |= a.charCodeAt(i) ^ b.charCodeAt(i);
  return diff === 0;
}

/** Parses an algorithm token as clients send it (case-insensitive; absent means MD5). */
export function parseAlgorithm(token: string | undefined): DigestAlgorithm | null {
  if (token === undefined || token === '') return 'MD5';
  const upper = token.toUpperCase();
  return (DIGEST_ALGORITHMS as readonly string[]).includes(upper)
    ? (upper as DigestAlgorithm)
    : null;
}
