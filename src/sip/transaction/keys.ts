// Transaction matching keys (RFC 3261 §17.1.3, §17.2.3).
//
// RFC 3261 peers (a branch starting with the magic cookie z9hG4bK): a transaction is found by
// its branch (branch-table.ts), then the top Via sent-by and the method are compared — with
// ACK taken as INVITE, because the ACK of a non-2xx final response belongs to the INVITE's
// transaction. CANCEL carries the same branch as its INVITE but is a transaction of its own
// (§9.2), so it differs by method. Client side: the branch of the request we sent and the
// CSeq method of the response (CANCEL and its INVITE share the branch).
//
// Server side, RFC 2543 peers (no cookie, or a branch that is only the cookie, RFC 4475
// §3.2.1 badbranch.dat): a string key of Request-URI, To tag, From tag, Call-ID, CSeq and top
// Via. The ACK is special: its To tag is the one of the response it acknowledges, which the
// INVITE did not have, so an ACK is looked up by ackKey (everything but the To tag, and the
// CSeq number without the method) and its To tag is checked against the response the
// transaction sent.
import type { SipMessage, SipRequest, Via } from '../message/index.ts';
import { hasRfc3261Branch } from '../message/index.ts';

/** Fields are joined with NUL, which cannot occur in a parsed header value or URI text. */
const SEP = '\u0000';

/** The top Via, when the Via header parses. */
export function topVia(m: SipMessage): Via | undefined {
  const r = m.tryView('via');
  return r.ok ? r.value[0] : undefined;
}

/** Via compared field by field: transport, sent-by and every parameter (names sorted). */
function viaIdentity(v: Via): string {
  const params = [...v.params.entries()]
    .map(([k, val]) => (val === null ? k : `${k}=${val}`))
    .sort()
    .join(';');
  return `${v.protocol}/${v.version}/${v.transport} ${v.host}:${v.port ?? ''};${params}`;
}

/** Every RFC 2543 key starts with this; an ACK key with this and "-ack". */
const RFC2543 = '2543';

interface Rfc2543Fields {
  readonly uri: string;
  readonly toTag: string;
  readonly fromTag: string;
  readonly callId: string;
  readonly seq: number;
  readonly via: string;
}

function rfc2543Fields(req: SipRequest, via: Via): Rfc2543Fields | undefined {
  const to = req.tryView('to');
  const from = req.tryView('from');
  const callId = req.tryView('callId');
  const cseq = req.tryView('cseq');
  if (!to.ok || !from.ok || !callId.ok || !cseq.ok) return undefined;
  return {
    uri: req.uriText,
    toTag: to.value.tag ?? '',
    fromTag: from.value.tag ?? '',
    callId: callId.value,
    seq: cseq.value.seq,
    via: viaIdentity(via),
  };
}

function rfc2543Key(f: Rfc2543Fields, method: string): string {
  return [RFC2543, f.uri, f.toTag, f.fromTag, f.callId, f.seq, method, f.via].join(SEP);
}

/**
 * §17.2.3 for an RFC 2543 ACK: the key of the INVITE it acknowledges, without the To tag (the
 * ACK's To tag is checked against the response sent, see ServerTransaction.acceptsAck).
 */
function rfc2543AckKey(f: Rfc2543Fields): string {
  return [`${RFC2543}-ack`, f.uri, f.fromTag, f.callId, f.seq, f.via].join(SEP);
}

/** The branch of a Via made by the RFC 3261 rules (it starts with the magic cookie). */
export function rfc3261Branch(via: Via): string | undefined {
  const branch = via.branch;
  return branch !== undefined && hasRfc3261Branch(branch) ? branch : undefined;
}

/**
 * The RFC 2543 key of a request whose top Via (`via`) has no RFC 3261 branch (for an ACK:
 * the ACK key of the INVITE it may belong to); `asMethod` overrides the method, which is how a
 * CANCEL finds its INVITE (§9.2: same rules as §17.2.3 except the method). Undefined when the
 * request lacks a usable CSeq, From, To or Call-ID (it cannot be matched at all).
 */
export function rfc2543ServerKey(req: SipRequest, via: Via, asMethod?: string): string | undefined {
  const f = rfc2543Fields(req, via);
  if (f === undefined) return undefined;
  if (req.method === 'ACK' && asMethod === undefined) return rfc2543AckKey(f);
  return rfc2543Key(f, asMethod ?? req.method);
}

/** For an RFC 2543 INVITE: the second key its ACK will be looked up by. */
export function serverAckAlias(invite: SipRequest): string | undefined {
  const via = topVia(invite);
  if (via === undefined) return undefined;
  const f = rfc2543Fields(invite, via);
  return f === undefined ? undefined : rfc2543AckKey(f);
}
