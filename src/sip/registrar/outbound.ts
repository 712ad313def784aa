// RFC 5626 (SIP outbound) where tollgate is both the edge proxy and the registrar: a phone
// behind NAT keeps one connection (a flow) open to us, registers over it with a
// `+sip.instance` and a `reg-id`, and everything for it must come back over that same flow,
// since nothing from outside can open a connection to it.
//
//   the flow       the binding keeps the connection its REGISTER came over (connectionId);
//                  the proxy sends to it over that connection only, and answers 430 Flow
//                  Failed when it is gone (§5.3) rather than trying to connect to a port
//                  behind a NAT. That binding is the flow token (§5.2) a separate edge proxy
//                  would encode in Path: here edge and registrar are one, so no token travels.
//   the identity   instance + reg-id name the flow: a new REGISTER with the same pair from a
//                  new connection (the phone reconnected) replaces the old binding (§6)
//   the answer     the 200 keeps reg-id and +sip.instance on the Contact, and says
//                  `Require: outbound` and `Flow-Timer` (§6, §11): the phone then sends its
//                  CRLF keep-alives, which the transport answers (§3.5.1, §4.4.1)
//
// Outbound is granted over TCP and TLS only. Over UDP its keep-alive is STUN (§4.4.2),
// which tollgate does not answer: claiming outbound there would make phones declare the
// flow dead and re-register in a loop. A UDP phone behind NAT is reached at the address
// its REGISTER came from, as before; its 200 keeps +sip.instance but not reg-id.
import type { Contact, SipRequest } from '../message/index.ts';

/**
 * Seconds between keep-alives the phone is asked for (Flow-Timer, §4.4.1: it sends them at
 * 80–100 % of this). Below the transport's idle timeout (120 s, transport/options.ts) with a
 * margin, so a quiet registered connection is never closed as idle.
 */
export const FLOW_TIMER_SECONDS = 90;

/** An instance id as RFC 5626 §4.1 writes it: a URN in angle brackets; bounded. */
const INSTANCE = /^<[^<>"\s\\]{1,250}>$/;

/** reg-id: 1..2^31-1 (§4.2). */
const MAX_REG_ID = 2 ** 31 - 1;

/** The identity of a flow (§4.1, §4.2). */
export interface FlowId {
  readonly instance: string;
  readonly regId: number;
}

/** The +sip.instance of a Contact ("<urn:…>"), or undefined when absent or malformed. */
export function instanceOf(contact: Contact): string | undefined {
  const value = contact.params.get('+sip.instance');
  return value !== null && value !== undefined && INSTANCE.test(value) ? value : undefined;
}

/**
 * The flow a Contact of this REGISTER asks for, or undefined when outbound does not apply:
 * no instance or reg-id, the phone did not say `Supported: outbound`, it is not our direct
 * client (one Via: we are its first hop, §6), or it is not on a connection (UDP).
 */
export function outboundFlow(
  request: SipRequest,
  contact: Contact,
  transport: 'udp' | 'tcp' | 'tls',
): FlowId | undefined {
  if (transport === 'udp') return undefined;
  const instance = instanceOf(contact);
  const regIdText = contact.params.get('reg-id');
  if (instance === undefined || regIdText === null || regIdText === undefined) return undefined;
  if (!/^[1-9][0-9]{0,9}$/.test(regIdText)) return undefined;
  const regId = Number(regIdText);
  if (regId > MAX_REG_ID) return undefined;
  if (!supportsOutbound(request)) return undefined;
  const vias = request.tryView('via');
  if (!vias.ok || vias.value.length !== 1) return undefined;
  return { instance, regId };
}

function supportsOutbound(request: SipRequest): boolean {
  for (const value of request.headerValues('supported'))
    for (const tag of value.split(',')) if (tag.trim().toLowerCase() === 'outbound') return true;
  return false;
}

/** The Contact parameters that name a binding's flow in the 200 (§6). */
export function flowParams(b: { instance?: string; regId?: number }): string {
  const regId = b.regId === undefined ? '' : `;reg-id=${b.regId}`;
  const instance = b.instance === undefined ? '' : `;+sip.instance="${b.instance}"`;
  return `${regId}${instance}`;
}
