// Building a response to a request (RFC 3261 §8.2.6.2): the same Via values in order, From,
// Call-ID and CSeq copied, To copied with a tag added when the request's To had none (a
// 100 Trying gets no tag: it does not create a dialog). Everything else is the caller's.
import { randomBytes } from 'node:crypto';
import { makeHeader, type SipRequest, SipResponse } from './message.ts';

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

const COPIED = ['via', 'from', 'call-id', 'cseq'] as const;

/** A fresh To tag: 64 random bits, enough to be unique per dialog (§19.3). */
export function newTag(): string {
  return randomBytes(8).toString('hex');
}

export function createResponse(
  request: SipRequest,
  status: number,
  reason: string = REASON_PHRASES[status] ?? '',
  options: { toTag?: string } = {},
): SipResponse {
  const fields = [];
  for (const header of request.headers) {
    if ((COPIED as readonly string[]).includes(header.key))
      fields.push(makeHeader(header.name, header.value));
  }
  const to = request.header('to');
  if (to !== undefined) {
    const hasTag = request.tryView('to').ok && request.to().tag !== undefined;
    const tag = status > 100 && !hasTag ? `;tag=${options.toTag ?? newTag()}` : '';
    fields.push(makeHeader('To', `${to}${tag}`));
  }
  return new SipResponse(status, reason, fields, Buffer.alloc(0));
}
