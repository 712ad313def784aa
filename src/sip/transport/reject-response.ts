// The error response for a request the parser refused (400, 413, 414, 505, 513 ...).
//
// There is no parsed message to answer, so the five fields a response needs to be matched
// by the client (RFC 3261 §8.2.6.2: Via, From, To, Call-ID, CSeq) are salvaged from the raw
// header lines, leniently but within the parser's limits. If any of them is missing or
// unusable the request is dropped instead: a response the client cannot match is noise,
// and one we cannot address would have to trust a header. ACKs are never answered
// (§17.1.1.3), and neither are responses (parseMessage gives them no status).
import { randomId } from '../../random.ts';
import {
  type HeaderField,
  headerKey,
  makeHeader,
  type ParseLimits,
  type ParseRejectReason,
  REJECT_INFO,
  SipResponse,
} from '../message/index.ts';
import type { Source } from './types.ts';
import { stampReceived } from './via-rules.ts';

const WANTED = new Set(['via', 'from', 'to', 'call-id', 'cseq']);
const SINGLE = ['from', 'to', 'call-id', 'cseq'];

/** Printable latin1 and HTAB only: nothing that could break the line structure. */
function clean(v: string): boolean {
  for (let i = 0; i < v.length; i++) {
    const c = v.charCodeAt(i);
    if ((c < 0x20 && c !== 0x09) || c === 0x7f) return false;
  }
  return true;
}

/** The wanted header fields of a raw message, in order; null when unusable. */
function salvageFields(raw: Buffer, limits: ParseLimits): HeaderField[] | null {
  const window = raw.subarray(0, Math.min(raw.length, limits.maxMessageBytes));
  let headEnd = window.indexOf('\r\n\r\n');
  if (headEnd < 0) headEnd = window.length;
  const lines = window.toString('latin1', 0, headEnd).split(/\r?\n/);
  if (lines.length > limits.maxHeaderCount + 1) return null;
  const out: HeaderField[] = [];
  let last: { name: string; value: string } | undefined;
  const flush = (): boolean => {
    if (last === undefined) return true;
    const key = headerKey(last.name);
    const value = last.value.trim();
    last = undefined;
    if (!WANTED.has(key)) return true;
    if (value.length === 0 || value.length > limits.maxHeaderLineBytes || !clean(value)) {
      return false;
    }
    try {
      out.push(makeHeader(key === 'via' ? 'Via' : fieldName(key), value));
    } catch {
      return false;
    }
    return true;
  };
  // lines[0] is the start line.
  for (const line of lines.slice(1)) {
    if (line.length > limits.maxHeaderLineBytes) return null;
    if ((line.startsWith(' ') || line.startsWith('\t')) && last !== undefined) {
      last.value += ` ${line.trim()}`; // folding, §7.3.1
      continue;
    }
    if (!flush()) return null;
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    last = { name: line.slice(0, colon).trim(), value: line.slice(colon + 1) };
  }
  if (!flush()) return null;
  return out;
}

function fieldName(key: string): string {
  return key === 'call-id' ? 'Call-ID' : key === 'cseq' ? 'CSeq' : key === 'to' ? 'To' : 'From';
}

/**
 * The response to send for a rejected request, with the top Via stamped per §18.2.1, or
 * null when the request must be dropped.
 */
export function buildRejectResponse(
  raw: Buffer,
  reason: ParseRejectReason,
  status: number,
  source: Source,
  limits: ParseLimits,
): SipResponse | null {
  const fields = salvageFields(raw, limits);
  if (fields === null) return null;
  const vias = fields.filter((f) => f.key === 'via');
  const singles: HeaderField[] = [];
  for (const key of SINGLE) {
    const f = fields.find((h) => h.key === key);
    if (f === undefined) return null;
    singles.push(f);
  }
  if (vias.length === 0) return null;
  const phrase = REJECT_INFO[reason].phrase ?? 'Bad Request';
  const res = new SipResponse(status, phrase, [...vias, ...singles], Buffer.alloc(0), limits);
  const via = res.tryView('via');
  const cseq = res.tryView('cseq');
  if (!via.ok || via.value.length === 0 || !cseq.ok || cseq.value.method === 'ACK') return null;
  if (!stampReceived(res, source)) return null;
  // §8.2.6.2: a response the UAS generates carries a To tag. Only added when To parses, so
  // the tag cannot end up inside a broken URI.
  const to = res.tryView('to');
  if (to.ok && to.value.tag === undefined) {
    res.setHeader('To', `${res.header('to')};tag=${randomId(6).toString('hex')}`);
  }
  return res;
}
