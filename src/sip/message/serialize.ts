// serialize: SipMessage → canonical wire form (RFC 3261 §7):
//   - start line with "SIP/2.0";
//   - one field per line as "Name: value", long names in canonical capitalisation (compact
//     forms expanded), values as stored (unfolded), order kept;
//   - exactly one Content-Length, equal to the body length, last (§18.3: streams need it);
//   - empty line, body.
// parseMessage(serialize(m)) yields m again (tests/sip/parser.test.ts round trips).
import { SipErrors } from '../errors.ts';
import { wireName } from './header-names.ts';
import { makeHeader, type SipMessage } from './message.ts';

function startLine(m: SipMessage): string {
  if (m.kind === 'request') {
    if (!/^[A-Za-z0-9\-.!%*_+`'~]+$/.test(m.method)) {
      throw new SipErrors.TG_SIP_BAD_START_LINE(`method ${JSON.stringify(m.method)}`);
    }
    if (m.uriText.length === 0 || /[\s<>]/.test(m.uriText)) {
      throw new SipErrors.TG_SIP_BAD_START_LINE(`Request-URI ${JSON.stringify(m.uriText)}`);
    }
    return `${m.method} ${m.uriText} SIP/2.0\r\n`;
  }
  if (!Number.isInteger(m.status) || m.status < 100 || m.status > 699 || /[\r\n]/.test(m.reason)) {
    throw new SipErrors.TG_SIP_BAD_START_LINE(`status ${m.status}`);
  }
  return `SIP/2.0 ${m.status} ${m.reason}\r\n`;
}

/** The header block (start line through the empty line) as a latin1 string. */
export function serializeHead(m: SipMessage): string {
  let out = startLine(m);
  for (const h of m.headers) {
    if (h.key === 'content-length') continue;
    // Fields are checked when added; re-check so a hand-built field cannot inject lines.
    if (h.value.indexOf('\r') >= 0 || h.value.indexOf('\n') >= 0) makeHeader(h.name, h.value);
    out += `${wireName(h.key, h.name)}: ${h.value}\r\n`;
  }
  return `${out}Content-Length: ${m.body.length}\r\n\r\n`;
}

export function serialize(m: SipMessage): Buffer {
  const head = serializeHead(m);
  if (m.body.length === 0) return Buffer.from(head, 'latin1');
  const out = Buffer.allocUnsafe(head.length + m.body.length);
  out.write(head, 0, 'latin1');
  m.body.copy(out, head.length);
  return out;
}
