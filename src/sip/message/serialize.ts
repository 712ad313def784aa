// serialize: SipMessage → canonical wire form (RFC 3261 §7):
//   - start line with "SIP/2.0";
//   - one field per line as "Name: value", long names in canonical capitalisation (compact
//     forms expanded), values as stored (unfolded), order kept;
//   - exactly one Content-Length, equal to the body length, last (§18.3: streams need it);
//   - empty line, body.
// parseMessage(serialize(m)) yields m again (tests/sip/parser.test.ts round trips).
import { SipErrors } from '../errors.ts';
import { TOKEN } from './chars.ts';
import { fieldPrefix } from './header-names.ts';
import { makeHeader, type SipMessage, type SipResponse } from './message.ts';

function isToken(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 255 || TOKEN[c] === 0) return false;
  }
  return true;
}

/** \s of JavaScript regular expressions (what the Request-URI check always meant). */
function isSpace(c: number): boolean {
  if (c <= 0xff) return c === 0x20 || (c >= 0x09 && c <= 0x0d) || c === 0xa0;
  return /\s/.test(String.fromCharCode(c));
}

/** A Request-URI on the wire: not empty, no whitespace, no <>. */
function isCleanUri(s: string): boolean {
  if (s.length === 0) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c === 0x3c || c === 0x3e || isSpace(c)) return false;
  }
  return true;
}

/** The start line without its CRLF (the next piece starts with one). */
function startLine(m: SipMessage): string {
  if (m.kind === 'request') {
    if (!isToken(m.method)) {
      throw new SipErrors.TG_SIP_BAD_START_LINE(`method ${JSON.stringify(m.method)}`);
    }
    if (!isCleanUri(m.uriText)) {
      throw new SipErrors.TG_SIP_BAD_START_LINE(`Request-URI ${JSON.stringify(m.uriText)}`);
    }
    return `${m.method} ${m.uriText} SIP/2.0`;
  }
  checkStatusLine(m);
  return `SIP/2.0 ${m.status} ${m.reason}`;
}

function checkStatusLine(m: SipResponse): void {
  const reason = m.reason;
  if (
    !Number.isInteger(m.status) ||
    m.status < 100 ||
    m.status > 699 ||
    reason.indexOf('\r') >= 0 ||
    reason.indexOf('\n') >= 0
  ) {
    throw new SipErrors.TG_SIP_BAD_START_LINE(`status ${m.status}`);
  }
}

/** Written after the fields of every message without a body. */
const NO_BODY_TAIL = '\r\nContent-Length: 0\r\n\r\n';

/**
 * The header block (start line through the empty line) as one flat latin1 string. The pieces
 * are joined once: appending them one by one would allocate a cons string per piece, which
 * Buffer.from then copies flat anyway.
 */
export function serializeHead(m: SipMessage): string {
  const headers = m.headers;
  // Fields are checked when parsed or added; re-check those of a message built from
  // hand-made fields, so that such a field cannot inject lines.
  const recheck = !m.fieldsChecked;
  const parts: string[] = new Array<string>(headers.length * 2 + 2);
  let n = 0;
  parts[n++] = startLine(m);
  for (let i = 0; i < headers.length; i++) {
    const h = headers[i]!;
    if (h.key === 'content-length') continue;
    if (recheck && (h.value.indexOf('\r') >= 0 || h.value.indexOf('\n') >= 0)) {
      makeHeader(h.name, h.value);
    }
    parts[n++] = fieldPrefix(h.key, h.name);
    parts[n++] = h.value;
  }
  const bodyLength = m.body.length;
  parts[n++] = bodyLength === 0 ? NO_BODY_TAIL : `\r\nContent-Length: ${bodyLength}\r\n\r\n`;
  parts.length = n;
  return parts.join('');
}

export function serialize(m: SipMessage): Buffer {
  const head = serializeHead(m);
  if (m.body.length === 0) return Buffer.from(head, 'latin1');
  const out = Buffer.allocUnsafe(head.length + m.body.length);
  out.write(head, 0, 'latin1');
  m.body.copy(out, head.length);
  return out;
}
