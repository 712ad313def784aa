// The few messages the transaction layer builds itself: a response to a request (100 Trying,
// the 503 of a full table, the 408/503 a client transaction reports to its TU) and the ACK of
// a non-2xx final response. Everything else is built by the transaction user.
import { randomBytes } from 'node:crypto';
import {
  BRANCH_MAGIC_COOKIE,
  type HeaderField,
  makeHeader,
  SipRequest,
  SipResponse,
} from '../message/index.ts';

/** A fresh RFC 3261 branch (§8.1.1.7): the magic cookie and 72 random bits. */
export function newBranch(): string {
  return BRANCH_MAGIC_COOKIE + randomBytes(9).toString('base64url');
}

/** A fresh To/From tag (§19.3: at least 32 random bits). */
export function newTag(): string {
  return randomBytes(6).toString('base64url');
}

export interface ResponseOptions {
  /** Tag to add to To when the request's To has none (§8.2.6.2; never for 100, §17.2.1). */
  readonly toTag?: string;
  /** Extra header fields, appended in order. */
  readonly headers?: ReadonlyArray<readonly [name: string, value: string]>;
}

/** Shared: a zero-length Buffer has nothing to mutate. */
const NO_BODY = Buffer.alloc(0);

const COPIED = new Set(['via', 'from', 'call-id', 'cseq']);

/**
 * RFC 3261 §8.2.6.2: a response copies From, Call-ID, CSeq and every Via (in order) from the
 * request, and its To, adding a tag if asked. §8.2.6.1: a 100 also copies Timestamp.
 */
export function makeResponse(
  req: SipRequest,
  status: number,
  reason: string,
  opts: ResponseOptions = {},
): SipResponse {
  const fields: HeaderField[] = [];
  for (const h of req.headers) {
    if (COPIED.has(h.key) || (status === 100 && h.key === 'timestamp')) fields.push(h);
    else if (h.key === 'to') {
      const needsTag = opts.toTag !== undefined && status !== 100 && !hasTag(req);
      fields.push(needsTag ? makeHeader(h.name, `${h.value};tag=${opts.toTag}`) : h);
    }
  }
  for (const [name, value] of opts.headers ?? []) fields.push(makeHeader(name, value));
  return new SipResponse(status, reason, fields, NO_BODY, req.limits);
}

function hasTag(req: SipRequest): boolean {
  const to = req.tryView('to');
  return to.ok && to.value.tag !== undefined;
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
