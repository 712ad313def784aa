// Building a response to a request: the one place every layer (transactions, registrar,
// service) gets its responses from.
import { randomId } from '../../random.ts';
import {
  type HeaderField,
  makeHeader,
  markFieldsChecked,
  type SipRequest,
  SipResponse,
} from './message.ts';

/** Reason phrases of the responses tollgate itself sends (RFC 3261 §21 and extensions). */
export const REASON_PHRASES: Readonly<Record<number, string>> = {
  100: 'Trying',
  180: 'Ringing',
  183: 'Session Progress',
  200: 'OK',
  202: 'Accepted',
  400: 'Bad Request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Unsupported URI Scheme',
  420: 'Bad Extension',
  423: 'Interval Too Brief',
  429: 'Too Many Requests',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  482: 'Loop Detected',
  483: 'Too Many Hops',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  503: 'Service Unavailable',
  505: 'Version Not Supported',
  513: 'Message Too Large',
  603: 'Decline',
};

/** Shared: a zero-length Buffer has nothing to mutate. */
const NO_BODY = Buffer.alloc(0);

const BASE64URL = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
const BASE64URL_CODES = Uint8Array.from(BASE64URL, (c) => c.charCodeAt(0));
const TAG_BYTES = 6;
/** Random bytes for the next tags, taken from randomId 32 tags at a time; each used once. */
let tagBytes: Buffer = Buffer.alloc(0);
let tagOffset = 0;

/**
 * A fresh To/From tag (§19.3: at least 32 random bits; 48 here), base64url: the same text
 * as randomId(6).toString('base64url'), without a Buffer and a native call per tag.
 */
export function newTag(): string {
  if (tagOffset + TAG_BYTES > tagBytes.length) {
    tagBytes = randomId(TAG_BYTES * 32);
    tagOffset = 0;
  }
  const b = tagBytes;
  const i = tagOffset;
  tagOffset += TAG_BYTES;
  const x = (b[i]! << 16) | (b[i + 1]! << 8) | b[i + 2]!;
  const y = (b[i + 3]! << 16) | (b[i + 4]! << 8) | b[i + 5]!;
  // One string of eight char codes: concatenating eight one-char strings would allocate a
  // new short string per step.
  return String.fromCharCode(
    BASE64URL_CODES[x >>> 18]!,
    BASE64URL_CODES[(x >>> 12) & 63]!,
    BASE64URL_CODES[(x >>> 6) & 63]!,
    BASE64URL_CODES[x & 63]!,
    BASE64URL_CODES[y >>> 18]!,
    BASE64URL_CODES[(y >>> 12) & 63]!,
    BASE64URL_CODES[(y >>> 6) & 63]!,
    BASE64URL_CODES[y & 63]!,
  );
}

export interface ResponseOptions {
  /** The To tag to add when the request's To has none; a fresh one by default (never on 100). */
  readonly toTag?: string;
  /** Extra header fields, appended in order. */
  readonly headers?: ReadonlyArray<readonly [name: string, value: string]>;
}

/**
 * RFC 3261 §8.2.6.2: a response copies From, Call-ID, CSeq and every Via (in order) from the
 * request, and its To, with a tag added when it had none (never on a 100, which creates no
 * dialog, §17.2.1). §8.2.6.1: a 100 also copies Timestamp.
 */
export function createResponse(
  req: SipRequest,
  status: number,
  reason: string = REASON_PHRASES[status] ?? '',
  opts: ResponseOptions = {},
): SipResponse {
  const headers = req.headers;
  let copied = 0;
  for (let i = 0; i < headers.length; i++) if (isCopied(headers[i]!.key, status)) copied++;
  // Room for the copies and for the few fields the caller adds (a challenge, a Contact and
  // a Date): pushing into an empty array would allocate room for 16 more.
  const fields: HeaderField[] = new Array<HeaderField>(copied + 3);
  let n = 0;
  let toCopied = false;
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    if (!isCopied(h.key, status)) continue;
    if (h.key !== 'to') fields[n++] = h;
    else if (status !== 100 && !hasTag(req)) {
      fields[n++] = makeHeader(h.name, `${h.value};tag=${opts.toTag ?? newTag()}`);
    } else {
      fields[n++] = h;
      toCopied = true;
    }
  }
  // Shrinking keeps the room (V8 trims only a much larger excess).
  fields.length = n;
  const res = new SipResponse(status, reason, fields, NO_BODY, req.limits);
  // The request's fields, and a To made by makeHeader.
  if (req.fieldsChecked) markFieldsChecked(res);
  // The copied fields are the request's own: so are their parsed views (the transport reads
  // the response's Via to route it).
  res.adoptView(req, 'via');
  res.adoptView(req, 'from');
  res.adoptView(req, 'callId');
  res.adoptView(req, 'cseq');
  if (toCopied) res.adoptView(req, 'to');
  if (opts.headers !== undefined)
    for (const [name, value] of opts.headers) res.addHeader(name, value);
  return res;
}

/** The fields a response copies from its request (see createResponse). */
function isCopied(key: string, status: number): boolean {
  return (
    key === 'via' ||
    key === 'from' ||
    key === 'to' ||
    key === 'call-id' ||
    key === 'cseq' ||
    (status === 100 && key === 'timestamp')
  );
}

function hasTag(req: SipRequest): boolean {
  const to = req.tryView('to');
  return to.ok && to.value.tag !== undefined;
}
