// Evidence samples are stored with a ban and shown by `tollgatectl bans`, the web UI and the
// API, so they must not carry anything that helps a second attacker: digest responses and
// nonces (a captured response with its nonce allows an offline dictionary attack on the
// password, RFC 7616 §5.4), Basic credentials (RFC 7617: the password itself, base64), and
// anything that looks like a password in a body or URI parameter.
//
// Redaction runs only when a ban is made (cold path); the hot path stores a truncated
// prefix of the message (truncateSample) and nothing else.
import { detach } from './detach.ts';

/** Longest sample kept with a ban: the start line and the headers that identify a scanner. */
export const MAX_SAMPLE_CHARS = 512;

const MASK = '[redacted]';

// Digest parameters whose value is a secret or lets one be computed offline. The value is
// quoted (response="…") or a token (nc=00000001 is harmless and kept).
const DIGEST_SECRET_PARAMS =
  /\b(response|nonce|cnonce|opaque|auts)\s*=\s*("[^"\r\n]*"?|[^\s,;\r\n]+)/gi;
// "Authorization: Basic dXNlcjpwYXNz" and the same in Proxy-Authorization.
const BASIC_CREDENTIALS = /\b(Basic)\s+[A-Za-z0-9+/=._~-]+/gi;
// password=…, passwd: …, pwd=…, secret=…, pin=… in bodies, URIs and headers.
const PASSWORD_LIKE =
  /\b(pass(?:word|wd)?|pwd|secret|pin|api[-_]?key|token)\b(\s*[=:]\s*)("[^"\r\n]*"?|[^\s,;&\r\n]+)/gi;
// user:password@ in a SIP or HTTP URI (RFC 3261 §19.1.1 allows it and says not to).
const URI_PASSWORD = /\b(sips?|https?):([^:@\s;>]+):([^@\s;>]+)@/gi;

/**
 * A prefix of the message small enough to keep per source. Copies it so that the stored
 * text does not pin the whole received message in memory (V8 slices and concatenations
 * share the strings they were made from).
 */
export function truncateSample(sample: string | undefined): string | undefined {
  if (sample === undefined) return undefined;
  if (sample.length <= MAX_SAMPLE_CHARS) return detach(sample);
  return Buffer.from(sample.slice(0, MAX_SAMPLE_CHARS), 'utf8').toString('utf8');
}

/** The sample with secrets masked and at most MAX_SAMPLE_CHARS long. */
export function redactSample(sample: string | undefined): string | undefined {
  if (sample === undefined) return undefined;
  return sample
    .slice(0, MAX_SAMPLE_CHARS)
    .replace(DIGEST_SECRET_PARAMS, (_m, name: string) => `${name}="${MASK}"`)
    .replace(BASIC_CREDENTIALS, (_m, scheme: string) => `${scheme} ${MASK}`)
    .replace(PASSWORD_LIKE, (_m, name: string, sep: string) => `${name}${sep}${MASK}`)
    .replace(URI_PASSWORD, (_m, scheme: string, user: string) => `${scheme}:${user}:${MASK}@`);
}
