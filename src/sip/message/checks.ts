// Application-level checks for messages that parse but must not be processed
// (RFC 3261 §8.2 UAS behaviour, §16.3 proxy request validation, §18.1.2/§18.2.1;
// RFC 4475 §3.1.2 and §3.3). parseMessage answers "is this SIP at all?"; these answer
// "may this element act on it?", and say which response to send (or that a response is to be
// dropped). Each failure names the problem in the reason phrase.

import type { AuthField } from './auth.ts';
import type { SipMessage, SipRequest, SipResponse } from './message.ts';
import { isSipUri } from './uri.ts';
import { BRANCH_MAGIC_COOKIE } from './via.ts';
import type { ViewName } from './views.ts';
import { VIEWS } from './views.ts';

/** What this element is doing with the request; decides which checks apply. */
export type Role = 'proxy' | 'uas' | 'registrar';

export interface RequestCheckOptions {
  readonly role?: Role;
  /** Request-URI schemes this element handles (else 416, §8.2.2.1 / §16.3 step 2). */
  readonly uriSchemes?: readonly string[];
  /** Option tags understood (else 420 with Unsupported, §8.2.2.3 / §16.3 step 6... Proxy-Require). */
  readonly extensions?: readonly string[];
  /** Body types a UAS understands (else 415, §8.2.3). */
  readonly contentTypes?: readonly string[];
  /**
   * Reject a request without Max-Forwards. RFC 3261 §16.3 step 3 lets it pass (a proxy adds
   * one, §16.6 step 3) and RFC 4475 §3.4.1 asks to accept RFC 2543 requests that lack it.
   */
  readonly requireMaxForwards?: boolean;
}

export type RequestVerdict =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly status: number;
      readonly phrase: string;
      readonly detail: string;
      /** For 420: the option tags to list in Unsupported. */
      readonly unsupported?: readonly string[];
      /** For 415/406: the types to list in Accept. */
      readonly accept?: readonly string[];
    };

export type ResponseVerdict =
  | { readonly ok: true }
  | { readonly ok: false; readonly detail: string };

const DEFAULTS = {
  role: 'proxy' as Role,
  uriSchemes: ['sip', 'sips', 'tel'] as readonly string[],
  extensions: ['path', 'outbound', 'gruu', 'timer', '100rel', 'replaces'] as readonly string[],
  contentTypes: ['application/sdp'] as readonly string[],
  requireMaxForwards: false,
};

/** Header fields that may appear once only (§7.3.1: not comma lists). */
const SINGLE_VALUED = [
  'to',
  'from',
  'cseq',
  'call-id',
  'max-forwards',
  'content-length',
  'content-type',
  'expires',
] as const;

function no(status: number, phrase: string, detail: string): RequestVerdict {
  return { ok: false, status, phrase, detail };
}

const MANDATORY: readonly ViewName[] = ['to', 'from', 'cseq', 'callId', 'via'];
const MANDATORY_WITH_MF: readonly ViewName[] = [...MANDATORY, 'maxForwards'];

/** Views that must parse when present for a request to be acted on. */
const MUST_PARSE: readonly ViewName[] = [
  'via',
  'from',
  'to',
  'cseq',
  'callId',
  'maxForwards',
  'contentLength',
  'contentType',
  'contact',
  'route',
  'recordRoute',
  'date',
  'require',
  'proxyRequire',
];

function headerName(v: ViewName): string {
  return VIEWS[v].label;
}

// The structural check in one pass over the fields: each header it counts has a bit.
const COUNTED = MANDATORY_WITH_MF.map((v) => VIEWS[v].header);
for (const key of SINGLE_VALUED) if (!COUNTED.includes(key)) COUNTED.push(key);
const BIT_OF_KEY: ReadonlyMap<string, number> = new Map(COUNTED.map((key, i) => [key, 1 << i]));

interface Counted {
  readonly bit: number;
  readonly label: string;
}

function counted(key: string, label: string): Counted {
  return { bit: BIT_OF_KEY.get(key)!, label };
}

const MANDATORY_BITS = MANDATORY.map((v) => counted(VIEWS[v].header, headerName(v)));
const MANDATORY_WITH_MF_BITS = MANDATORY_WITH_MF.map((v) =>
  counted(VIEWS[v].header, headerName(v)),
);
const SINGLE_VALUED_BITS = SINGLE_VALUED.map((key) =>
  counted(key, Object.values(VIEWS).find((s) => s.header === key)?.label ?? key),
);

/** Which mandatory or single-valued header is missing or repeated, if any. */
function structural(m: SipMessage, mandatory: readonly Counted[]): string | null {
  let once = 0;
  let twice = 0;
  const fields = m.headers;
  for (let i = 0; i < fields.length; i++) {
    const bit = BIT_OF_KEY.get(fields[i]!.key);
    if (bit === undefined) continue;
    twice |= once & bit;
    once |= bit;
  }
  let missing: string[] | undefined;
  for (const c of mandatory) {
    if ((once & c.bit) !== 0) continue;
    if (missing === undefined) missing = [c.label];
    else missing.push(c.label);
  }
  if (missing !== undefined) return `Missing ${missing.join(', ')}`;
  if (twice === 0) return null;
  for (const c of SINGLE_VALUED_BITS) {
    if ((twice & c.bit) !== 0) return `Multiple ${c.label} Values`;
  }
  return null;
}

/** The first view of MUST_PARSE that does not parse, as a verdict. */
function firstBadView(m: SipRequest): RequestVerdict {
  for (const v of MUST_PARSE) {
    const r = m.tryView(v);
    if (!r.ok) return no(400, `Bad ${headerName(v)}`, r.detail);
  }
  return ACCEPTED;
}

const ACCEPTED: RequestVerdict = Object.freeze({ ok: true });

/**
 * Decides whether a request that parsed may be processed, and if not which response to send.
 * Order follows §16.3 / §8.2: structure, header syntax, method consistency, URI scheme,
 * Max-Forwards, extensions, content.
 */
export function validateRequest(m: SipRequest, options: RequestCheckOptions = {}): RequestVerdict {
  // As { ...DEFAULTS, ...options } (an option given as undefined stays so), without the copy.
  const role = options.role ?? ('role' in options ? undefined : DEFAULTS.role);
  const uriSchemes = options.uriSchemes ?? DEFAULTS.uriSchemes;
  const extensions = options.extensions ?? DEFAULTS.extensions;
  const contentTypes = options.contentTypes ?? DEFAULTS.contentTypes;
  const requireMaxForwards =
    options.requireMaxForwards ?? ('requireMaxForwards' in options ? undefined : false);
  const s = structural(m, requireMaxForwards ? MANDATORY_WITH_MF_BITS : MANDATORY_BITS);
  if (s !== null) return no(400, s, s);
  // MUST_PARSE, each call naming its view (a direct read of its cache slot).
  const via = m.tryView('via');
  const cseqView = m.tryView('cseq');
  const maxForwards = m.tryView('maxForwards');
  const contentLengths = m.tryView('contentLength');
  if (
    !(
      via.ok &&
      m.tryView('from').ok &&
      m.tryView('to').ok &&
      cseqView.ok &&
      m.tryView('callId').ok &&
      maxForwards.ok &&
      contentLengths.ok &&
      m.tryView('contentType').ok &&
      m.tryView('contact').ok &&
      m.tryView('route').ok &&
      m.tryView('recordRoute').ok &&
      m.tryView('date').ok &&
      m.tryView('require').ok &&
      m.tryView('proxyRequire').ok
    )
  ) {
    return firstBadView(m);
  }
  if (via.value.length === 0) return no(400, 'Missing Via', 'empty Via');
  const cseq = cseqView.value;
  // §8.2.3 / RFC 4475 §3.1.2.17-18: the CSeq method must match the request method.
  if (cseq.method !== m.method) {
    return no(400, 'CSeq Method Mismatch', `${cseq.method} in CSeq, ${m.method} in Request-Line`);
  }
  if (contentLengths.value !== undefined && contentLengths.value !== m.body.length) {
    return no(400, 'Content-Length Mismatch', 'Content-Length differs from the body size');
  }
  if (m.method === 'ACK' || m.method === 'CANCEL') {
    // These are matched to a transaction; the remaining checks would answer what cannot be
    // answered (no response to ACK, §17.2.3; CANCEL's fate follows the INVITE's).
    return ACCEPTED;
  }
  // §19.1.1 table: headers are not allowed in a Request-URI (RFC 4475 §3.1.2.11 escruri).
  if (isSipUri(m.uri) && m.uri.headers.size > 0) {
    return no(400, 'Headers Not Allowed In Request-URI', 'Request-URI carries ?headers');
  }
  // §8.2.2.1 / §16.3 step 2 (RFC 4475 §3.3.2-3 unkscm, novelsc).
  if (!uriSchemes.includes(m.uri.scheme)) {
    return no(416, 'Unsupported URI Scheme', `${m.uri.scheme}: in Request-URI`);
  }
  // §16.3 step 3: a proxy does not forward a request whose Max-Forwards is 0 (RFC 4475
  // §3.3.11 zeromf). A UAS processes it.
  const mf = maxForwards.value;
  if (role === 'proxy' && mf === 0) return no(483, 'Too Many Hops', 'Max-Forwards is 0');
  // §8.2.2.3 (UAS: Require) and §16.3 step 6 (proxy: Proxy-Require); RFC 4475 §3.3.5.
  const required = role === 'proxy' ? m.view('proxyRequire') : m.view('require');
  let unsupported: string[] | undefined;
  for (const t of required) {
    if (extensions.includes(t.toLowerCase())) continue;
    if (unsupported === undefined) unsupported = [t];
    else unsupported.push(t);
  }
  if (unsupported !== undefined) {
    return {
      ok: false,
      status: 420,
      phrase: 'Bad Extension',
      detail: `unsupported: ${unsupported.join(', ')}`,
      unsupported,
    };
  }
  if (role === 'proxy') return ACCEPTED;

  if (role === 'registrar' && m.method === 'REGISTER') {
    // §10.3 step 3 / RFC 4475 §3.3.4: the To header names the AOR, a SIP or SIPS URI.
    if (!isSipUri(m.view('to').uri)) return no(400, 'Bad To URI Scheme', 'AOR must be sip/sips');
    const contacts = m.view('contact');
    const expires = m.tryView('expires');
    if (contacts.star && (!expires.ok || expires.value !== 0)) {
      return no(400, 'Invalid Contact *', '"*" needs Expires: 0 (§10.3 step 6)');
    }
    // RFC 4475 §3.3.7: credentials in an unknown scheme get a new Digest challenge.
    const auth = m.tryView('authorization');
    if (!auth.ok) return no(400, 'Bad Authorization', auth.detail);
    const creds = auth.value;
    if (creds.length > 0 && !hasDigest(creds)) {
      return no(401, 'Unauthorized', `unknown authorization scheme ${creds[0]!.scheme}`);
    }
  }
  // §8.2.3: a UAS rejects bodies it does not understand (RFC 4475 §3.3.6 invut).
  if (m.body.length > 0) {
    const ct = m.view('contentType');
    const enc = m.header('content-encoding');
    if (
      ct === undefined ||
      !contentTypes.includes(ct.type) ||
      (enc !== undefined && enc !== 'identity')
    ) {
      return {
        ok: false,
        status: 415,
        phrase: 'Unsupported Media Type',
        detail: `body of type ${ct?.type ?? 'unknown'}`,
        accept: contentTypes,
      };
    }
  }
  // §21.4.7 / RFC 4475 §3.3.15 sdp01: an INVITE whose Accept excludes every type this UAS
  // can answer with gets 406.
  if (m.method === 'INVITE') {
    const accept = m.tryView('accept');
    if (!accept.ok) return no(400, 'Bad Accept', accept.detail);
    if (accept.value !== undefined) {
      const acceptable = accept.value.some(
        (a) =>
          a.type === '*/*' ||
          contentTypes.includes(a.type) ||
          contentTypes.some((t) => a.type.endsWith('/*') && t.startsWith(a.type.slice(0, -1))),
      );
      if (!acceptable) {
        return {
          ok: false,
          status: 406,
          phrase: 'Not Acceptable',
          detail: 'Accept lists no type this UAS produces',
          accept: contentTypes,
        };
      }
    }
  }
  return ACCEPTED;
}

function hasDigest(creds: readonly AuthField[]): boolean {
  for (const c of creds) if (c.scheme.toLowerCase() === 'digest') return true;
  return false;
}

/**
 * Decides whether a response may be processed. A response is never answered: a failing one
 * is dropped (§18.1.2; RFC 4475 §3.1.2.5 scalarlg, §3.3.10 bcast).
 */
export function validateResponse(m: SipResponse): ResponseVerdict {
  const s = structural(m, MANDATORY_BITS);
  if (s !== null) return { ok: false, detail: s };
  for (const v of ['via', 'from', 'to', 'cseq', 'callId', 'contentLength'] as const) {
    const r = m.tryView(v);
    if (!r.ok) return { ok: false, detail: `bad ${headerName(v)}: ${r.detail}` };
  }
  const vias = m.view('via');
  if (vias.length === 0) return { ok: false, detail: 'no Via' };
  // RFC 4475 §3.3.10: forwarding along a Via that names a broadcast (or unspecified)
  // address would turn this element into an amplifier.
  for (const v of vias) {
    for (const addr of [v.host, v.received]) {
      if (addr === '255.255.255.255' || addr === '0.0.0.0') {
        return { ok: false, detail: `Via names ${addr}` };
      }
    }
  }
  return { ok: true };
}

/** RFC 3261 §8.1.1.7 / RFC 4475 §3.2.1: a branch that only is the cookie is RFC 2543 style. */
export function hasRfc3261Branch(branch: string | undefined): boolean {
  return (
    branch !== undefined &&
    branch.length > BRANCH_MAGIC_COOKIE.length &&
    branch.startsWith(BRANCH_MAGIC_COOKIE)
  );
}
