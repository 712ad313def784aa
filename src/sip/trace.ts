// loglevel=debug: one line per SIP request and response crossing the wire, in and out, so an
// operator can follow a failing call: direction, method, Call-ID, CSeq, the peer address and
// transport, and the outcome (the status of a response; for a request received, whether the
// guard let it in). Nothing else of the message is logged: no header that could carry a
// secret (Authorization, Proxy-Authorization) and no body.
//
// At info and above the trace costs one boolean test per message: whether debug is enabled
// is read when the logger's level changes, not per message.
import type { Logger } from '../log.ts';
import type { SipMessage } from './message/index.ts';
import type { Destination, RejectEvent, Source } from './transport/types.ts';

/** Longest Call-ID and Request-URI written (a hostile peer chooses them). */
const MAX_TEXT = 200;

function cut(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  return text.length > MAX_TEXT ? `${text.slice(0, MAX_TEXT)}…` : text;
}

export class SipTrace {
  readonly #log: Logger;
  #on: boolean;

  constructor(log: Logger) {
    this.#log = log;
    this.#on = log.isLevelEnabled('debug');
    log.on?.('level-change', () => {
      this.#on = log.isLevelEnabled('debug');
    });
  }

  get enabled(): boolean {
    return this.#on;
  }

  /** A message received; `admitted` false when the guard dropped it unprocessed. */
  received(m: SipMessage, source: Source, admitted: boolean): void {
    if (!this.#on) return;
    const peer = { ip: source.ip, port: source.port, transport: source.transport };
    if (m.kind === 'request') {
      this.#log.debug(
        {
          dir: 'in',
          method: m.method,
          uri: cut(m.uriText),
          callId: cut(m.header('call-id')),
          cseq: cut(m.header('cseq')),
          ...peer,
          outcome: admitted ? 'accepted' : 'dropped by the guard',
        },
        `SIP ${m.method} received`,
      );
    } else {
      this.#log.debug(
        {
          dir: 'in',
          status: m.status,
          reason: cut(m.reason),
          callId: cut(m.header('call-id')),
          cseq: cut(m.header('cseq')),
          ...peer,
          outcome: admitted ? 'accepted' : 'dropped by the guard',
        },
        `SIP ${m.status} received`,
      );
    }
  }

  /** A message handed to the transports for `dest`. */
  sent(m: SipMessage, dest: Destination): void {
    if (!this.#on) return;
    const peer = { ip: dest.ip, port: dest.port, transport: dest.transport };
    if (m.kind === 'request') {
      this.#log.debug(
        {
          dir: 'out',
          method: m.method,
          uri: cut(m.uriText),
          callId: cut(m.header('call-id')),
          cseq: cut(m.header('cseq')),
          ...peer,
        },
        `SIP ${m.method} sent`,
      );
    } else {
      this.#log.debug(
        {
          dir: 'out',
          status: m.status,
          reason: cut(m.reason),
          callId: cut(m.header('call-id')),
          cseq: cut(m.header('cseq')),
          ...peer,
          outcome: m.status,
        },
        `SIP ${m.status} sent`,
      );
    }
  }

  /** A message the parser or the stream framing refused. */
  rejected(e: RejectEvent): void {
    if (!this.#on) return;
    this.#log.debug(
      {
        dir: 'in',
        ip: e.source.ip,
        port: e.source.port,
        transport: e.source.transport,
        outcome: e.responded ? `refused with ${e.status}` : 'dropped',
        reason: e.reason,
        detail: cut(e.detail),
      },
      'SIP message refused',
    );
  }
}
