// What policy sees of an arriving message (the port's InboundMessage), built from a parsed
// SipMessage. One view is refilled for every message: policy keeps nothing of it past
// admit(), so no object is allocated per message. The sample is built only when policy
// reads it (a counting window opens, a rule trips), not for every message.
import type { InboundMessage, SipSource } from '../policy-port.ts';
import type { SipMessage } from './message/index.ts';

/** Longest user name, User-Agent and Call-ID handed to policy. */
const MAX_USER = 128;
const MAX_USER_AGENT = 200;
const MAX_CALL_ID = 256;

/** `text` cut to `max` characters; as is when it fits (slice() would allocate a copy). */
function cut(text: string, max: number): string {
  return text.length > max ? text.slice(0, max) : text;
}

/** The first line and the identifying headers: enough to recognise a tool, cheap to build. */
function sampleOf(m: SipMessage): string {
  const start =
    m.kind === 'request' ? `${m.method} ${m.uriText}` : `SIP/2.0 ${m.status} ${m.reason}`;
  return `${start}\nFrom: ${m.header('from') ?? ''}\nTo: ${m.header('to') ?? ''}\nCall-ID: ${m.header('call-id') ?? ''}`;
}

function userOf(m: SipMessage): string | undefined {
  if (m.kind !== 'request' || !('user' in m.uri)) return undefined;
  const user = m.uri.user;
  return user ? cut(user, MAX_USER) : undefined;
}

export class InboundView implements InboundMessage {
  source: SipSource = { transport: 'udp', ip: '', port: 0 };
  method: string | undefined = undefined;
  user: string | undefined = undefined;
  userAgent: string | undefined = undefined;
  callId: string | undefined = undefined;
  #message: SipMessage | undefined = undefined;
  #sample: string | undefined = undefined;

  fill(m: SipMessage, source: SipSource): this {
    this.source = source;
    this.method = m.kind === 'request' ? m.method : undefined;
    this.user = userOf(m);
    const userAgent = m.header(m.kind === 'request' ? 'user-agent' : 'server');
    this.userAgent = userAgent ? cut(userAgent, MAX_USER_AGENT) : undefined;
    const callId = m.header('call-id');
    this.callId = callId ? cut(callId, MAX_CALL_ID) : undefined;
    this.#message = m;
    this.#sample = undefined;
    return this;
  }

  /** Lets go of the message once policy has answered. */
  done(): void {
    this.#message = undefined;
    this.#sample = undefined;
  }

  get sample(): string | undefined {
    if (this.#sample === undefined && this.#message !== undefined)
      this.#sample = sampleOf(this.#message);
    return this.#sample;
  }
}
