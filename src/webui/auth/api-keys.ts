// The API keys (httpapikey and apiv2key for the admin API, serverapikey for customised
// softphones on the user API), checked against what the configuration holds: a hash when set
// from the console or API (crypto/secret-hash.ts), the text when it came from a config file.
// A key once accepted is remembered as its SHA-256 (memory only, bounded) so the scrypt cost
// is paid once per key and value, not per request; changing the key forgets it.
import { timingSafeEqual } from 'node:crypto';
import { sha256, verifySecret } from '../../crypto/secret-hash.ts';

const MAX_KEY_LENGTH = 256;

export class KeyChecker {
  /** stored value → SHA-256 of the candidate that matched it. */
  readonly #accepted = new Map<string, Buffer>();

  /** Whether `candidate` is the key `stored` holds (an empty stored key accepts nothing). */
  matches(candidate: string, stored: string): boolean {
    if (stored === '' || candidate === '' || candidate.length > MAX_KEY_LENGTH) return false;
    const digest = sha256(candidate);
    const known = this.#accepted.get(stored);
    if (known !== undefined) return timingSafeEqual(known, digest);
    if (!verifySecret(candidate, stored)) return false;
    if (this.#accepted.size >= 16) this.#accepted.clear(); // only a few keys exist at a time
    this.#accepted.set(stored, digest);
    return true;
  }
}
