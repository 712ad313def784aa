// API keys at rest: the config store keeps `$scrypt$N=16384,r=8,p=1$<salt>$<hash>` instead of
// the key itself (config/settings.ts hashes a key whose spec says `hashed`), so a copy of the
// store or a `config list` never gives the key away. scrypt is in node:crypto (no native
// dependency) and costs ~50 ms, which also slows a guesser; the web layer remembers a key it
// has accepted (as its SHA-256, in memory only) so a legitimate client pays that once.
import { createHash, randomBytes, scryptSync, timingSafeEqual } from 'node:crypto';

const N = 16384;
const R = 8;
const P = 1;
const LENGTH = 32;
const PREFIX = '$scrypt$';
const FORMAT =
  /^\$scrypt\$N=(\d+),r=(\d+),p=(\d+)\$([A-Za-z0-9+/]{16,64})\$([A-Za-z0-9+/]{32,128})$/;

/** Whether a stored value is already a hash (a config file may carry one too). */
export function isSecretHash(value: string): boolean {
  return value.startsWith(PREFIX) && FORMAT.test(value);
}

/** The hash to store for `secret` (an empty secret stays empty: "unset"). */
export function hashSecret(secret: string): string {
  if (secret === '' || isSecretHash(secret)) return secret;
  const salt = randomBytes(16);
  const hash = scryptSync(secret, salt, LENGTH, { N, r: R, p: P, maxmem: 64 * 1024 * 1024 });
  const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
  return `${PREFIX}N=${N},r=${R},p=${P}$${b64(salt)}$${b64(hash)}`;
}

/**
 * Whether `candidate` is the secret `stored` holds: a hash made by hashSecret, or a secret in
 * clear (from a config file). Constant time in the candidate either way.
 */
export function verifySecret(candidate: string, stored: string): boolean {
  if (stored === '') return false;
  const m = FORMAT.exec(stored);
  if (!m) {
    // Compared as digests: equal lengths, so timingSafeEqual says nothing about the length.
    return timingSafeEqual(sha256(candidate), sha256(stored));
  }
  const expected = Buffer.from(m[5]!, 'base64');
  const N = Number(m[1]);
  const r = Number(m[2]);
  const p = Number(m[3]);
  if (N > 1 << 20 || r > 32 || p > 16) return false; // a value nobody here made: refuse the work
  const hash = scryptSync(candidate, Buffer.from(m[4]!, 'base64'), expected.length, {
    N,
    r,
    p,
    maxmem: 256 * 1024 * 1024,
  });
  return timingSafeEqual(hash, expected);
}

export function sha256(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}
