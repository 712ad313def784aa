// A minimal SIP digest client for tests: builds REGISTER requests and answers challenges the
// way a phone does (RFC 3261 §22.4, RFC 8760), computing the response independently of the
// server code with node:crypto.
import { createHash, randomBytes } from 'node:crypto';

const NODE_HASH: Record<string, string> = {
  MD5: 'md5',
  'SHA-256': 'sha256',
  'SHA-512-256': 'sha512-256',
};

function h(algorithm: string, text: string): string {
  return createHash(NODE_HASH[algorithm]!).update(text).digest('hex');
}

export interface Challenge {
  realm: string;
  nonce: string;
  algorithm: string;
  stale: boolean;
}

/** Parses the WWW-Authenticate values of a response. */
export function challenges(values: readonly string[]): Challenge[] {
  return values.map((v) => {
    const get = (name: string) => new RegExp(`${name}="?([^",]*)"?`).exec(v)?.[1] ?? '';
    return {
      realm: get('realm'),
      nonce: get('nonce'),
      algorithm: get('algorithm') || 'MD5',
      stale: /stale=true/i.test(v),
    };
  });
}

export interface Credentials {
  user: string;
  password: string;
}

export function authorization(
  c: Challenge,
  creds: Credentials,
  request: { method: string; uri: string },
  options: { nc?: number; cnonce?: string; qop?: boolean } = {},
): string {
  const nc = (options.nc ?? 1).toString(16).padStart(8, '0');
  const cnonce = options.cnonce ?? randomBytes(6).toString('hex');
  const ha1 = h(c.algorithm, `${creds.user}:${c.realm}:${creds.password}`);
  const ha2 = h(c.algorithm, `${request.method}:${request.uri}`);
  if (options.qop === false) {
    const response = h(c.algorithm, `${ha1}:${c.nonce}:${ha2}`);
    return `Digest username="${creds.user}", realm="${c.realm}", nonce="${c.nonce}", uri="${request.uri}", response="${response}", algorithm=${c.algorithm}`;
  }
  const response = h(c.algorithm, `${ha1}:${c.nonce}:${nc}:${cnonce}:auth:${ha2}`);
  return `Digest username="${creds.user}", realm="${c.realm}", nonce="${c.nonce}", uri="${request.uri}", response="${response}", algorithm=${c.algorithm}, qop=auth, nc=${nc}, cnonce="${cnonce}"`;
}

export interface RegisterOptions {
  user: string;
  domain?: string;
  toUser?: string;
  contact?: string;
  expires?: number;
  callId?: string;
  cseq?: number;
  authorization?: string;
  extraHeaders?: string[];
}

/** REGISTER text (CRLF line ends), as a phone at 10.0.0.5 would send it. */
export function register(o: RegisterOptions): string {
  const domain = o.domain ?? 'tollgate';
  const lines = [
    `REGISTER sip:${domain} SIP/2.0`,
    `Via: SIP/2.0/UDP 10.0.0.5:5062;branch=z9hG4bK${randomBytes(6).toString('hex')};rport`,
    'Max-Forwards: 70',
    `From: <sip:${o.user}@${domain}>;tag=${randomBytes(4).toString('hex')}`,
    `To: <sip:${o.toUser ?? o.user}@${domain}>`,
    `Call-ID: ${o.callId ?? 'reg-1@10.0.0.5'}`,
    `CSeq: ${o.cseq ?? 1} REGISTER`,
    ...(o.contact === '' ? [] : [`Contact: ${o.contact ?? `<sip:${o.user}@10.0.0.5:5062>`}`]),
    ...(o.expires === undefined ? [] : [`Expires: ${o.expires}`]),
    ...(o.authorization ? [`Authorization: ${o.authorization}`] : []),
    'User-Agent: tollgate-test-phone',
    ...(o.extraHeaders ?? []),
    'Content-Length: 0',
    '',
    '',
  ];
  return lines.join('\r\n');
}
