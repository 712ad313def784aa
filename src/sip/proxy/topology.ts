// Topology hiding: what one side of a call learns of the other's network. A phone's Via
// (its address and port, and those of any proxy before us), its Contact (the address it
// listens on, often a private one behind NAT) and the Record-Route of proxies on its side
// are internal addresses; with forwardclientaddress = 0 (the default) none of them is passed
// to the other side:
//
//   Via            the forwarded request carries only our Via; the response going back gets
//                  the original request's Vias again (the server transaction kept them)
//   Contact        the remote target handed on names us ("sip:user@<our address>"); the real
//                  one stays in the call record, and requests in the dialog are sent to it
//   Record-Route   the other side's proxies are dropped both ways: the callee sees only ours;
//                  the caller sees ours followed by its own side's (its route set is intact)
//
// forwardclientaddress = 1 passes them on unchanged (RFC 3261 §16.6 as written), which
// reveals where users are. The SDP is the media relay's (src/sip/media).
import { isSipUri, parseUri, type SipMessage, type SipRequest } from '../message/index.ts';
import type { TransportName } from '../transaction/index.ts';
import type { OwnAddresses } from './addresses.ts';

/** A Contact naming us for `user`, reached over `transport` from `peerIp`. */
export function ownContact(
  own: OwnAddresses,
  user: string | undefined,
  transport: TransportName,
  peerIp: string,
  sips: boolean,
): string {
  const at = own.advertised(transport, peerIp);
  const userPart = user && /^[A-Za-z0-9._~+*#-]{1,64}$/.test(user) ? `${user}@` : '';
  if (sips && transport === 'tls') return `<sips:${userPart}${at.host}:${at.port}>`;
  const param = transport === 'udp' ? '' : `;transport=${transport}`;
  return `<sip:${userPart}${at.host}:${at.port}${param}>`;
}

/** Replaces the first Contact with one naming us (nothing when there is none or it is *). */
export function hideContact(
  m: SipMessage,
  own: OwnAddresses,
  transport: TransportName,
  peerIp: string,
): void {
  const c = m.tryView('contact');
  if (!c.ok || c.value.star || c.value.list.length === 0) return;
  const uri = c.value.list[0]!.uri;
  const user = isSipUri(uri) ? uri.user : undefined;
  const sips = isSipUri(uri) && uri.scheme === 'sips';
  m.setHeader('Contact', ownContact(own, user, transport, peerIp, sips));
}

/**
 * The request going to the other side: every Via but the one we push next removed, and the
 * Record-Route of proxies before us (ours are added after this).
 */
export function hideRequestPath(out: SipRequest): void {
  out.removeHeader('via');
  out.removeHeader('record-route');
}

/**
 * A response going back to the side that sent `original`, our Via already popped: the Vias
 * of the original request again, and in place of the Record-Route the other side wrote, ours
 * followed by the original request's own (so the caller's route set still holds its side).
 */
export function restoreResponsePath(
  res: SipMessage,
  original: Pick<SipRequest, 'headerValues'>,
  ownRecordRoutes: readonly string[] | undefined,
): void {
  res.removeHeader('via');
  for (const v of original.headerValues('via')) res.addHeader('Via', v);
  if (ownRecordRoutes === undefined || !res.has('record-route')) return;
  res.removeHeader('record-route');
  res.addHeader('Record-Route', ownRecordRoutes.join(', '));
  for (const rr of original.headerValues('record-route')) res.addHeader('Record-Route', rr);
}

/**
 * A request inside a hidden dialog (in-dialog.ts), going to the end whose real remote target
 * is `receiverContact`: its Request-URI named us (the Contact we gave), so it is aimed at
 * the real one again; the sender's Vias and Contact are hidden as in the INVITE.
 */
export function hideInDialogRequest(
  out: SipRequest,
  receiverContact: string | undefined,
  own: OwnAddresses,
  dest: { transport: TransportName; ip: string },
): void {
  if (receiverContact !== undefined) {
    const target = parseUri(receiverContact, out.limits.maxUriBytes);
    if (target.ok) {
      out.uriText = receiverContact;
      out.uri = target.uri;
    }
  }
  hideRequestPath(out);
  hideContact(out, own, dest.transport, dest.ip);
}
