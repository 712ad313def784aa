// parseMessage: octets off the wire → SipMessage, or a coded reason why not.
//
// RFC 3261 §7 (message = start-line *message-header CRLF [message-body]), §7.3.1 (folding,
// case-insensitive names), §7.5 (framing), §18.3 (Content-Length on streams), §20.14;
// RFC 4475 decides the corner cases. The work is bounded by ParseLimits and linear in the
// input: one search for the end of the header block, one pass over its lines, and header
// values are only split into fields here — their typed views are parsed later, on demand.
//
// Never throws: any input yields a ParseResult (tests/sip/fuzz.test.ts).
import { CR, DIGIT, HTAB, knownMethod, LF, SP, scanWhile, TOKEN, workMeter } from './chars.ts';
import { HEADER_NAMES, headerKey } from './header-names.ts';
import { DEFAULT_LIMITS, type ParseLimits } from './limits.ts';
import {
  type HeaderField,
  markFieldsChecked,
  newField,
  type SipMessage,
  SipRequest,
  SipResponse,
} from './message.ts';
import { type ParseRejectReason, REJECT_INFO } from './reasons.ts';
import { parseUri, type Uri } from './uri.ts';
import { parseDecimal, quotedEnd } from './value-scan.ts';

export type Transport = 'datagram' | 'stream';

export interface ParseOptions {
  /**
   * 'datagram' (UDP, default): the buffer is one whole message; a missing Content-Length
   * means the body is the rest, and octets past Content-Length are ignored (RFC 4475
   * §3.1.1.8). 'stream' (TCP/TLS): the buffer may hold a partial message or several;
   * Content-Length is required and `consumed` says where the next message starts.
   */
  readonly transport?: Transport;
  readonly limits?: ParseLimits;
}

export type ParseResult =
  | { readonly ok: true; readonly message: SipMessage; readonly consumed: number }
  | {
      readonly ok: false;
      readonly reason: ParseRejectReason;
      readonly detail: string;
      /** Response status to send; only for requests, absent means drop. */
      readonly status?: number;
      /** For 'keepalive': octets the transport may discard. */
      readonly consumed?: number;
    };

const HEADER_END = Buffer.from('\r\n\r\n', 'latin1');

function reject(reason: ParseRejectReason, detail: string, isRequest: boolean): ParseResult {
  const status = isRequest ? REJECT_INFO[reason].status : undefined;
  return status === undefined
    ? { ok: false, reason, detail }
    : { ok: false, reason, detail, status };
}

/** Parses one SIP message from `buf`. Never throws. */
export function parseMessage(buf: Buffer, opts: ParseOptions = {}): ParseResult {
  try {
    return parse(buf, opts.limits ?? DEFAULT_LIMITS, opts.transport === 'stream');
  } catch (err) {
    return { ok: false, reason: 'internal_error', detail: String(err) };
  }
}

type VersionCheck = 'ok' | 'unsupported' | 'bad';

function checkVersion(v: string): VersionCheck {
  if (v === 'SIP/2.0') return 'ok';
  // SIP-Version = "SIP" "/" 1*DIGIT "." 1*DIGIT; the literal is case-insensitive (RFC 5234).
  if (v.length < 7 || v.length > 16 || v.slice(0, 4).toUpperCase() !== 'SIP/') return 'bad';
  const dot = v.indexOf('.', 4);
  if (dot < 5 || dot === v.length - 1) return 'bad';
  for (let i = 4; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (i !== dot && (c < 0x30 || c > 0x39)) return 'bad';
  }
  return Number(v.slice(4, dot)) === 2 && Number(v.slice(dot + 1)) === 0 ? 'ok' : 'unsupported';
}

/** Via values in one field: 1 + commas outside quoted strings. */
function countViaValues(v: string): number {
  if (v.indexOf('"') < 0) {
    // No quoted strings: every comma separates two values.
    let n = 1;
    for (let c = v.indexOf(','); c >= 0; c = v.indexOf(',', c + 1)) n++;
    workMeter.ops += v.length;
    return n;
  }
  let n = 1;
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if (c === 0x2c) n++;
    else if (c === 0x22) {
      const q = quotedEnd(v, i, v.length);
      if (q < 0) break;
      i = q - 1;
    }
  }
  workMeter.ops += v.length;
  return n;
}

/** Why a header line whose name is not followed by HCOLON is refused. */
function badNameLine(line: string, isRequest: boolean): ParseResult {
  const colon = line.indexOf(':');
  if (colon < 0) return reject('bad_header', 'header line without ":"', isRequest);
  return reject('bad_header', 'header name is not a token', isRequest);
}

/**
 * s.slice(i, end).trim() without the intermediate copy. Same whitespace as String#trim
 * within latin1: HTAB, LF, VT, FF, CR, SP and NBSP.
 */
function trimmed(s: string, i: number, end: number): string {
  while (i < end && isTrimmed(s.charCodeAt(i))) i++;
  while (end > i && isTrimmed(s.charCodeAt(end - 1))) end--;
  return s.slice(i, end);
}

function isTrimmed(c: number): boolean {
  return (c >= 0x09 && c <= 0x0d) || c === SP || c === 0xa0;
}

/** The field being read, its continuation lines joined (§7.3.1: each fold is one SP). */
/** What the header loop counts besides the fields themselves. */
interface FieldTally {
  /** Via values so far (a field may carry several). */
  vias: number;
  /** Every Content-Length value, for the body check. */
  contentLengths: string[] | undefined;
}

/** Adds a complete field; false when it takes the Via values past the limit. */
function commitField(
  fields: HeaderField[],
  f: HeaderField,
  tally: FieldTally,
  limits: ParseLimits,
): boolean {
  fields.push(f);
  if (f.key === 'via') {
    tally.vias += countViaValues(f.value);
    return tally.vias <= limits.maxViaCount;
  }
  if (f.key === 'content-length') {
    if (tally.contentLengths === undefined) tally.contentLengths = [f.value];
    else tally.contentLengths.push(f.value);
  }
  return true;
}

function fieldOf(
  name: string,
  key: string,
  value: string,
  folded: string[] | undefined,
): HeaderField {
  if (folded !== undefined) {
    value = value.length === 0 ? folded.join(' ') : `${value} ${folded.join(' ')}`;
  }
  return newField(name, key, value);
}

function tooManyVia(limits: ParseLimits, isRequest: boolean): ParseResult {
  return reject('too_many_via', `more than ${limits.maxViaCount} Via values`, isRequest);
}

const NONE: readonly string[] = [];
/** Shared by every message without a body: a zero-length Buffer has nothing to mutate. */
const NO_BODY = Buffer.alloc(0);

function parse(buf: Buffer, limits: ParseLimits, stream: boolean): ParseResult {
  const len = buf.length;
  let start = 0;
  // RFC 3261 §7.5: CRLFs before a start-line are ignored; RFC 5626 §4.4.1 keepalives are
  // exactly such CRLFs.
  while (start < len && (buf[start] === CR || buf[start] === LF)) start++;
  workMeter.ops += start + 1;
  if (start === len) return { ok: false, reason: 'keepalive', detail: 'only CRLF', consumed: len };
  const isRequest = !(
    len - start >= 4 &&
    (buf[start]! | 0x20) === 0x73 &&
    (buf[start + 1]! | 0x20) === 0x69 &&
    (buf[start + 2]! | 0x20) === 0x70 &&
    buf[start + 3] === 0x2f
  );

  if (!stream && len - start > limits.maxMessageBytes) {
    return reject('message_too_large', `${len - start} octets`, isRequest);
  }
  const window = Math.min(len, start + limits.maxMessageBytes);
  const headEnd = (window === len ? buf : buf.subarray(0, window)).indexOf(HEADER_END, start);
  workMeter.ops += window - start;
  if (headEnd < 0) {
    if (!stream) return reject('missing_header_end', 'no empty line after the headers', isRequest);
    if (len - start >= limits.maxMessageBytes) {
      return reject('message_too_large', 'header block exceeds the message limit', isRequest);
    }
    return { ok: false, reason: 'incomplete', detail: 'header block not complete' };
  }

  const head = buf.toString('latin1', start, headEnd);
  const headLen = head.length;

  // ---- start line
  let lineEnd = head.indexOf('\n');
  if (lineEnd < 0) lineEnd = headLen;
  else if (head.charCodeAt(lineEnd - 1) !== CR) {
    return reject('bad_line_ending', 'LF without CR', isRequest);
  } else lineEnd--;
  const startLine = head.slice(0, lineEnd);
  if (startLine.indexOf('\r') >= 0) return reject('bad_line_ending', 'CR without LF', isRequest);
  if (startLine.length > limits.maxHeaderLineBytes) {
    return reject('line_too_long', 'start line too long', isRequest);
  }
  workMeter.ops += startLine.length;

  let method = '';
  let uriText = '';
  let status = 0;
  let reasonPhrase = '';
  let requestUri: Uri | undefined;
  const sp1 = startLine.indexOf(' ');
  if (isRequest) {
    // Request-Line = Method SP Request-URI SP SIP-Version: exactly two single SPs
    // (RFC 4475 §3.1.2.8-10 lwsruri, lwsstart, trws).
    if (sp1 <= 0) return reject('bad_start_line', 'no method', true);
    method = knownMethod(startLine, 0, sp1) ?? startLine.slice(0, sp1);
    if (scanWhile(method, 0, method.length, TOKEN) !== method.length) {
      return reject('bad_method', 'method is not a token', true);
    }
    const sp2 = startLine.indexOf(' ', sp1 + 1);
    if (sp2 < 0) return reject('bad_start_line', 'Request-Line needs three parts', true);
    if (sp2 === sp1 + 1) return reject('bad_start_line', 'empty Request-URI', true);
    // Nearly always exactly "SIP/2.0": read in place, not cut out.
    if (startLine.length !== sp2 + 8 || !startLine.startsWith('SIP/2.0', sp2 + 1)) {
      const version = startLine.slice(sp2 + 1);
      if (version.indexOf(' ') >= 0) {
        return reject('bad_start_line', 'extra SP in the Request-Line', true);
      }
      const vc = checkVersion(version);
      if (vc === 'bad') return reject('bad_version', `bad SIP-Version "${version}"`, true);
      if (vc === 'unsupported') return reject('unsupported_version', version, true);
    }
    uriText = startLine.slice(sp1 + 1, sp2);
    if (uriText.length > limits.maxUriBytes) {
      return reject('uri_too_long', `${uriText.length} octets`, true);
    }
    const u = parseUri(uriText, limits.maxUriBytes);
    if (!u.ok) return reject('bad_request_uri', u.detail, true);
    requestUri = u.uri;
  } else {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase
    if (sp1 < 0) return reject('bad_start_line', 'Status-Line needs a status code', false);
    const vc =
      sp1 === 7 && startLine.startsWith('SIP/2.0') ? 'ok' : checkVersion(startLine.slice(0, sp1));
    if (vc !== 'ok') {
      return reject(
        vc === 'bad' ? 'bad_version' : 'unsupported_version',
        'response version',
        false,
      );
    }
    let sp2 = startLine.indexOf(' ', sp1 + 1);
    if (sp2 < 0) sp2 = startLine.length; // tolerate a missing SP before an empty phrase
    const d0 = startLine.charCodeAt(sp1 + 1);
    if (
      sp2 - sp1 !== 4 ||
      d0 < 0x31 ||
      d0 > 0x36 ||
      scanWhile(startLine, sp1 + 1, sp2, DIGIT) !== sp2
    ) {
      const code = startLine.slice(sp1 + 1, sp2);
      return reject('bad_status_code', `status code "${code.slice(0, 16)}" not in 100..699`, false);
    }
    status =
      (d0 - 0x30) * 100 +
      (startLine.charCodeAt(sp1 + 2) - 0x30) * 10 +
      (startLine.charCodeAt(sp1 + 3) - 0x30);
    reasonPhrase = startLine.slice(sp2 + 1);
    for (let i = 0; i < reasonPhrase.length; i++) {
      const c = reasonPhrase.charCodeAt(i);
      if ((c < 0x20 && c !== HTAB) || c === 0x7f) {
        return reject('bad_reason_phrase', 'control character in Reason-Phrase', false);
      }
    }
  }

  // ---- header fields
  // One pass over the header block by index: a line is never copied, only its name and its
  // trimmed value are.
  const fields: HeaderField[] = [];
  const tally: FieldTally = { vias: 0, contentLengths: undefined };
  let name = '';
  let key = '';
  let value = '';
  let folded: string[] | undefined;
  let fieldBytes = 0;
  let pending = false;
  let pos = lineEnd + 2;
  // The first CR at or after `pos`: the one ending the line, unless a bare CR comes first.
  let cr = head.indexOf('\r', pos);

  while (pos < headLen) {
    let nl = head.indexOf('\n', pos);
    let end: number;
    if (nl < 0) {
      end = headLen;
      nl = headLen;
    } else if (head.charCodeAt(nl - 1) !== CR) {
      return reject('bad_line_ending', 'LF without CR', isRequest);
    } else end = nl - 1;
    if (cr >= 0 && cr < end) return reject('bad_line_ending', 'CR without LF', isRequest);
    const lineLen = end - pos;
    workMeter.ops += lineLen + 1;
    const lineStart = pos;
    pos = nl + 1;
    if (cr >= 0 && cr < pos) cr = head.indexOf('\r', pos);
    const c0 = head.charCodeAt(lineStart);
    if (c0 === SP || c0 === HTAB) {
      // Folded continuation: LWS = [*WSP CRLF] 1*WSP, equivalent to one SP (§7.3.1).
      if (!pending) return reject('bad_header', 'continuation line before any header', isRequest);
      fieldBytes += lineLen + 2;
      if (fieldBytes > limits.maxHeaderLineBytes) {
        return reject('line_too_long', `header ${name} too long`, isRequest);
      }
      // Pieces are joined once in fieldOf(): re-trimming a growing value per continuation line
      // would copy it each time (quadratic in the number of folds).
      const more = trimmed(head, lineStart, end);
      if (more.length === 0) continue;
      if (folded === undefined) folded = [more];
      else folded.push(more);
      continue;
    }
    if (pending && !commitField(fields, fieldOf(name, key, value, folded), tally, limits)) {
      return tooManyVia(limits, isRequest);
    }
    if (fields.length >= limits.maxHeaderCount) {
      return reject('too_many_headers', `more than ${limits.maxHeaderCount}`, isRequest);
    }
    fieldBytes = lineLen;
    if (fieldBytes > limits.maxHeaderLineBytes) {
      return reject('line_too_long', 'header field too long', isRequest);
    }
    // HCOLON = *( SP / HTAB ) ":" SWS, after a token name.
    const nameEnd = HEADER_NAMES.scan(head, lineStart, end);
    const known = HEADER_NAMES.found;
    let colon = nameEnd;
    while (colon < end && (head.charCodeAt(colon) === SP || head.charCodeAt(colon) === HTAB)) {
      colon++;
    }
    if (nameEnd === lineStart || colon === end || head.charCodeAt(colon) !== 0x3a) {
      return badNameLine(head.slice(lineStart, end), isRequest);
    }
    // A name spelled the usual way (nearly all) is that constant: no copy per field.
    const usual = known?.usual;
    name =
      usual !== undefined &&
      nameEnd - lineStart === usual.length &&
      head.startsWith(usual, lineStart)
        ? usual
        : head.slice(lineStart, nameEnd);
    key = known?.key ?? headerKey(name);
    value = trimmed(head, colon + 1, end);
    folded = undefined;
    pending = true;
  }
  if (pending && !commitField(fields, fieldOf(name, key, value, folded), tally, limits)) {
    return tooManyVia(limits, isRequest);
  }

  // ---- body (§7.4, §18.3, §20.14)
  const bodyStart = headEnd + 4;
  let contentLength: number | undefined;
  let conflicting = false;
  for (const v of tally.contentLengths ?? NONE) {
    const n = parseDecimal(v, Number.MAX_SAFE_INTEGER);
    if (n === null)
      return reject('bad_content_length', `Content-Length "${v.slice(0, 32)}"`, isRequest);
    if (contentLength !== undefined && n !== contentLength) conflicting = true;
    contentLength = contentLength === undefined ? n : Math.max(n, contentLength);
  }
  if (contentLength !== undefined && contentLength > limits.maxContentLength) {
    return reject('content_length_too_large', `Content-Length ${contentLength}`, isRequest);
  }
  let body: Buffer;
  let consumed: number;
  if (stream) {
    if (conflicting) return reject('conflicting_content_length', 'differing values', isRequest);
    if (contentLength === undefined) {
      return reject('missing_content_length', 'required on stream transports', isRequest);
    }
    if (bodyStart - start + contentLength > limits.maxMessageBytes) {
      return reject('message_too_large', 'headers plus body exceed the limit', isRequest);
    }
    if (len - bodyStart < contentLength) {
      return { ok: false, reason: 'incomplete', detail: 'body not complete' };
    }
    consumed = bodyStart + contentLength;
    // A stream buffer is usually reused by the transport: the body gets its own memory.
    body = contentLength === 0 ? NO_BODY : Buffer.from(buf.subarray(bodyStart, consumed));
  } else if (contentLength === undefined || conflicting) {
    // §18.3: on datagrams the body is the rest; conflicting values are left for
    // validateRequest to answer with 400 (RFC 4475 §3.3.9).
    consumed = len;
    body = len === bodyStart ? NO_BODY : buf.subarray(bodyStart, len);
  } else {
    if (len - bodyStart < contentLength) {
      return reject(
        'body_truncated',
        `Content-Length ${contentLength} > ${len - bodyStart}`,
        isRequest,
      );
    }
    consumed = bodyStart + contentLength;
    body = contentLength === 0 ? NO_BODY : buf.subarray(bodyStart, consumed);
  }

  // Every value came from a line without CR or LF.
  const message =
    requestUri !== undefined
      ? new SipRequest(method, uriText, requestUri, fields, body, limits)
      : new SipResponse(status, reasonPhrase, fields, body, limits);
  markFieldsChecked(message);
  return { ok: true, message, consumed };
}
