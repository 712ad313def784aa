// Authorization / Proxy-Authorization (credentials) and WWW-Authenticate /
// Proxy-Authenticate (challenge), RFC 3261 §20.7, §20.27, §20.28, §20.44, §25.1:
//   credentials = ("Digest" LWS digest-response) / other-response
//   other-response = auth-scheme LWS auth-param *(COMMA auth-param)
//   auth-param = auth-param-name EQUAL ( token / quoted-string )
// One field carries one credentials/challenge: its commas separate parameters, not values.
import { DQUOTE, GENVALUE, scanWhile, skipWs, TOKEN, words } from './chars.ts';
import { collectParams, countChar } from './params.ts';
import {
  bad,
  lowerSlice,
  ok,
  plainQuotedEnd,
  plainQuotes,
  quotedEnd,
  unquote,
  type ViewResult,
} from './value-scan.ts';

export interface AuthField {
  /** As written ("Digest", case-insensitive on comparison). */
  readonly scheme: string;
  /** Parameter names lower-cased, values unquoted (realm, nonce, response, qop, ...). */
  readonly params: ReadonlyMap<string, string>;
}

/** RFC 2617 / 7616 parameter names. */
const AUTH_PARAM_NAMES = words([
  'username',
  'realm',
  'nonce',
  'uri',
  'response',
  'algorithm',
  'cnonce',
  'opaque',
  'qop',
  'nc',
  'stale',
  'domain',
  'userhash',
]);

function parseAuthField(s: string): AuthField | string {
  const end = s.length;
  const plain = plainQuotes(s);
  const sStart = skipWs(s, 0, end);
  const sEnd = scanWhile(s, sStart, end, TOKEN);
  if (sEnd === sStart) return 'missing auth scheme';
  const scheme = s.slice(sStart, sEnd);
  let i = skipWs(s, sEnd, end);
  if (i === sEnd) return 'no whitespace after auth scheme';
  // Each parameter after the first follows a comma.
  const params = collectParams<string>(countChar(s, ',', i, end) + 1);
  for (;;) {
    const nEnd = AUTH_PARAM_NAMES.scan(s, i, end);
    if (nEnd === i) return 'empty auth parameter';
    const name = AUTH_PARAM_NAMES.found ?? lowerSlice(s, i, nEnd);
    i = skipWs(s, nEnd, end);
    if (s.charCodeAt(i) !== 0x3d) return `auth parameter ${name} without "="`;
    i = skipWs(s, i + 1, end);
    let value: string;
    if (s.charCodeAt(i) === DQUOTE) {
      const q = plain ? plainQuotedEnd(s, i, end) : quotedEnd(s, i, end);
      if (q < 0) return `unterminated quoted value of ${name}`;
      value = plain ? s.slice(i + 1, q - 1) : unquote(s, i, q);
      i = q;
    } else {
      // token; GENVALUE also admits ':' and '[]' seen in unquoted uri= from old clients
      const vEnd = scanWhile(s, i, end, GENVALUE);
      if (vEnd === i) return `empty value of ${name}`;
      value = s.slice(i, vEnd);
      i = vEnd;
    }
    if (!params.add(name, value)) return `duplicate auth parameter ${name}`;
    i = skipWs(s, i, end);
    if (i === end) return { scheme, params };
    if (s.charCodeAt(i) !== 0x2c) return `unexpected text after ${name}`;
    i = skipWs(s, i + 1, end);
  }
}

/** Every field of an authorization/authenticate header, in order. */
export function parseAuthFields(values: readonly string[]): ViewResult<AuthField[]> {
  // Sized once: an array grown by push() starts with room for 16 more.
  const out = new Array<AuthField>(values.length);
  for (let k = 0; k < values.length; k++) {
    const f = parseAuthField(values[k]!);
    if (typeof f === 'string') return bad(f);
    out[k] = f;
  }
  return ok(out);
}
