// A TransactionLayer on a FakeClock whose transport records what it would send. Every sent
// message is serialized and parsed back, so assertions see what a peer would receive.
import {
  parseMessage,
  type SipMessage,
  type SipRequest,
  type SipResponse,
  serialize,
} from '../../src/sip/message/index.ts';
import {
  type Endpoint,
  type ServerEndReason,
  type ServerTransaction,
  TransactionLayer,
  type TransactionLayerOptions,
} from '../../src/sip/transaction/index.ts';
import { FakeClock } from './fake-clock.ts';

export const UDP_PEER: Endpoint = { transport: 'udp', ip: '192.0.2.10', port: 5060 };
export const TCP_PEER: Endpoint = { transport: 'tcp', ip: '192.0.2.10', port: 40312 };

/** Parses SIP text written with \n line ends (as in the tests) into a message. */
export function sip(text: string): SipMessage {
  const wire = text.replace(/\r?\n/g, '\r\n');
  const r = parseMessage(Buffer.from(wire, 'latin1'));
  if (!r.ok) throw new Error(`test message does not parse: ${r.reason} ${r.detail}`);
  return r.message;
}

export function sipRequest(text: string): SipRequest {
  const m = sip(text);
  if (m.kind !== 'request') throw new Error('not a request');
  return m;
}

export function sipResponse(text: string): SipResponse {
  const m = sip(text);
  if (m.kind !== 'response') throw new Error('not a response');
  return m;
}

export interface RequestSpec {
  method?: string;
  branch?: string | null;
  cseq?: number;
  cseqMethod?: string;
  toTag?: string;
  sentBy?: string;
  transport?: string;
  uri?: string;
  callId?: string;
  extra?: string[];
}

/** A request as a UA would send it; `branch: null` makes an RFC 2543 Via without branch. */
export function requestText(spec: RequestSpec = {}): string {
  const method = spec.method ?? 'REGISTER';
  const branch = spec.branch === null ? '' : `;branch=${spec.branch ?? 'z9hG4bKa1b2c3'}`;
  const to = spec.toTag === undefined ? '' : `;tag=${spec.toTag}`;
  return [
    `${method} ${spec.uri ?? 'sip:bob@example.com'} SIP/2.0`,
    `Via: SIP/2.0/${spec.transport ?? 'UDP'} ${spec.sentBy ?? '192.0.2.10:5060'}${branch};rport`,
    'Max-Forwards: 70',
    `To: Bob <sip:bob@example.com>${to}`,
    'From: Alice <sip:alice@example.com>;tag=1928301774',
    `Call-ID: ${spec.callId ?? 'a84b4c76e66710@pc33.example.com'}`,
    `CSeq: ${spec.cseq ?? 1} ${spec.cseqMethod ?? method}`,
    ...(spec.extra ?? []),
    'Content-Length: 0',
    '',
    '',
  ].join('\n');
}

export function request(spec: RequestSpec = {}): SipRequest {
  return sipRequest(requestText(spec));
}

export interface Sent {
  /** Fake-clock time of the send. */
  readonly at: number;
  readonly message: SipMessage;
  readonly dest: Endpoint;
  /** What the transport would call on a late failure (a refused connection). */
  readonly fail: (err: Error) => void;
}

export interface Harness {
  readonly clock: FakeClock;
  readonly layer: TransactionLayer;
  readonly sent: Sent[];
  /** Server transactions handed to the TU, with their request. */
  readonly requests: { tx: ServerTransaction; req: SipRequest }[];
  readonly ends: { tx: ServerTransaction; reason: ServerEndReason }[];
  readonly acks: { ack: SipRequest; tx: ServerTransaction | undefined }[];
  readonly strays: SipResponse[];
  /** Make the next sends fail (a transport error) while true. */
  failSends: boolean;
  /** Status lines of what was sent, e.g. ["100 Trying", "REGISTER"]. */
  lines(): string[];
}

export function harness(
  opts: Partial<TransactionLayerOptions> & {
    onRequest?: TransactionLayerOptions['onRequest'];
  } = {},
): Harness {
  const clock = new FakeClock();
  const h: Harness = {
    clock,
    layer: undefined as unknown as TransactionLayer,
    sent: [],
    requests: [],
    ends: [],
    acks: [],
    strays: [],
    failSends: false,
    lines: () =>
      h.sent.map(({ message: m }) => (m.kind === 'request' ? m.method : `${m.status} ${m.reason}`)),
  };
  const layer = new TransactionLayer({
    clock,
    send(message, dest, onFailure) {
      if (h.failSends) return false;
      const back = parseMessage(serialize(message));
      if (!back.ok) throw new Error(`layer sent an unparsable message: ${back.detail}`);
      h.sent.push({ at: clock.now(), message: back.message, dest, fail: onFailure ?? (() => {}) });
      return true;
    },
    onRequest(tx, req) {
      h.requests.push({ tx, req });
      opts.onRequest?.(tx, req);
    },
    onServerEnd: (tx, reason) => h.ends.push({ tx, reason }),
    onAck: (ack, _source, tx) => h.acks.push({ ack, tx }),
    onStrayResponse: (res) => h.strays.push(res),
    ...withoutHandlers(opts),
  });
  (h as { layer: TransactionLayer }).layer = layer;
  return h;
}

function withoutHandlers(opts: Partial<TransactionLayerOptions>): Partial<TransactionLayerOptions> {
  const { onRequest: _r, send: _s, ...rest } = opts;
  return rest;
}
