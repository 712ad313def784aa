// The messages the transaction layer builds itself besides responses (those come from
// createResponse in src/sip/message): a branch, and the ACK of a non-2xx final response.
import { randomId } from '../../random.ts';
import {
  BRANCH_MAGIC_COOKIE,
  type HeaderField,
  makeHeader,
  SipRequest,
  type SipResponse,
} from '../message/index.ts';

/** Shared: a zero-length Buffer has nothing to mutate. */
const NO_BODY = Buffer.alloc(0);

/** A fresh RFC 3261 branch (§8.1.1.7): the magic cookie and 72 random bits. */
export function newBranch(): string {
  return BRANCH_MAGIC_COOKIE + randomId(9).toString('base64url');
}

/**
 * RFC 3261 §17.1.1.3: the ACK a client INVITE transaction sends for a 3xx-6xx. Request-URI,
 * Call-ID, From, CSeq number and the top Via only (same branch) come from the INVITE, To from
 * the response (it carries the UAS's tag), Route from the INVITE; no body.
 */
export function makeAck(invite: SipRequest, res: SipResponse): SipRequest {
  const fields: HeaderField[] = [];
  const via = invite.headerValues('via');
  // The top Via value: the first element of the first Via field.
  fields.push(makeHeader('Via', firstElement(via[0] ?? '')));
  fields.push(makeHeader('Max-Forwards', '70'));
  for (const h of invite.headers) if (h.key === 'from' || h.key === 'call-id') fields.push(h);
  const to = res.header('to');
  if (to !== undefined) fields.push(makeHeader('To', to));
  fields.push(makeHeader('CSeq', `${invite.cseq().seq} ACK`));
  for (const h of invite.headers) if (h.key === 'route') fields.push(h);
  return new SipRequest('ACK', invite.uriText, invite.uri, fields, NO_BODY, invite.limits);
}

/** The first comma-separated element of a header value, commas in quoted strings skipped. */
function firstElement(value: string): string {
  let quoted = false;
  for (let i = 0; i < value.length; i++) {
    const c = value[i];
    if (c === '\\' && quoted) i++;
    else if (c === '"') quoted = !quoted;
    else if (c === ',' && !quoted) return value.slice(0, i).trim();
  }
  return value.trim();
}
