// Password policy and password hashing. tollgate never stores a password: a SIP account keeps
// one digest HA1 per algorithm (what digest authentication needs) and an argon2id verifier
// (for logins that see the password itself, like the user portal).
import { argon2Sync, randomBytes, randomInt, timingSafeEqual } from 'node:crypto';

/** Whatever minpwdlength says, a password shorter than this is never "strong". */
export const STRONG_MIN_LENGTH = 8;

/** The passwords every SIP cracker tries first (svcrack's default dictionary and friends). */
const COMMON = new Set([
  'password',
  'passw0rd',
  'secret',
  'changeme',
  'welcome',
  'letmein',
  'qwerty',
  'qwertyuiop',
  'abc123',
  'admin',
  'administrator',
  'voip',
  'sip',
  'asterisk',
  'default',
  'test',
  'guest',
  'iloveyou',
  'monkey',
  'dragon',
  'master',
  'football',
  'trustno1',
]);

/**
 * Why a password is weak, or null if it is acceptable. `validate` is `validatepassword`:
 * 0 no check, 1 minpwdlength (minLength) and not the username, 2 as 1 plus letters and
 * digits and not a well-known password. With `enforcestrongauth` on, the stricter rules
 * below apply as well. Length over 128 and control characters are always refused.
 */
export function passwordWeakness(
  username: string,
  password: string,
  minLength: number,
  enforceStrong: boolean,
  validate = 1,
): string | null {
  if (validate >= 1 && password.length < minLength)
    return `shorter than minpwdlength (${minLength})`;
  if (password.length > 128) return 'longer than 128 characters';
  if (hasControlCharacter(password)) return 'contains control characters';
  // enforcestrongauth's stricter rules first (their messages say more), then validatepassword.
  if (enforceStrong) {
    const strong = strongWeakness(username, password);
    // Named once here: the error that carries this text does not repeat the key.
    if (strong !== null) return `${strong} (enforcestrongauth)`;
  }
  if (validate >= 1 && username !== '' && password.toLowerCase() === username.toLowerCase())
    return 'the same as the username (validatepassword)';
  if (validate >= 2 && !(/[A-Za-z]/.test(password) && /[0-9]/.test(password)))
    return 'needs letters and digits (validatepassword 2)';
  if (validate >= 2 && COMMON.has(password.toLowerCase().replace(/[0-9!.]+$/, '')))
    return 'a common password (validatepassword 2)';
  return null;
}

/** The stricter rules of enforcestrongauth. */
function strongWeakness(username: string, password: string): string | null {
  if (password.length < STRONG_MIN_LENGTH) return `shorter than ${STRONG_MIN_LENGTH} characters`;
  const lower = password.toLowerCase();
  if (username && lower.includes(username.toLowerCase())) return 'contains the username';
  if (COMMON.has(lower.replace(/[0-9!.]+$/, ''))) return 'a common password';
  if (/^(.)\1*$/.test(password)) return 'one repeated character';
  if (isSequence(lower)) return 'a keyboard or number sequence';
  const classes = [/[a-z]/, /[A-Z]/, /[0-9]/, /[^a-zA-Z0-9]/].filter((r) =>
    r.test(password),
  ).length;
  if (classes < 2) return 'uses only one kind of character (mix letters, digits or symbols)';
  return null;
}

function hasControlCharacter(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) return true;
  }
  return false;
}

function isSequence(text: string): boolean {
  const rows = ['0123456789', 'abcdefghijklmnopqrstuvwxyz', 'qwertyuiop', 'asdfghjkl', 'zxcvbnm'];
  return rows.some((row) => row.includes(text) || [...row].reverse().join('').includes(text));
}

const ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789';

/** A random password that passes every rule: 20 characters, ~115 bits. */
export function generatePassword(): string {
  for (;;) {
    let out = '';
    for (let i = 0; i < 20; i++) out += ALPHABET[randomInt(ALPHABET.length)];
    if (/[a-z]/.test(out) && /[A-Z]/.test(out) && /[0-9]/.test(out)) return out;
  }
}

// OWASP's argon2id baseline: 19 MiB, 2 passes, 1 lane.
const ARGON = { memory: 19456, passes: 2, parallelism: 1, tagLength: 32 };

/** PHC string: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash> (base64 without padding). */
export function hashPassword(password: string): string {
  const nonce = randomBytes(16);
  const tag = argon2Sync('argon2id', { message: password, nonce, ...ARGON });
  const b64 = (b: Buffer) => b.toString('base64').replace(/=+$/, '');
  return `$argon2id$v=19$m=${ARGON.memory},t=${ARGON.passes},p=${ARGON.parallelism}$${b64(nonce)}$${b64(tag)}`;
}

export function verifyPassword(password: string, phc: string): boolean {
  const m = /^\$argon2id\$v=19\$m=(\d+),t=(\d+),p=(\d+)\$([A-Za-z0-9+/]+)\$([A-Za-z0-9+/]+)$/.exec(
    phc,
  );
  if (!m) return false;
  const expected = Buffer.from(m[5]!, 'base64');
  const tag = argon2Sync('argon2id', {
    message: password,
    nonce: Buffer.from(m[4]!, 'base64'),
    memory: Number(m[1]),
    passes: Number(m[2]),
    parallelism: Number(m[3]),
    tagLength: expected.length,
  });
  return timingSafeEqual(tag, expected);
}
